/* program_run.c — programs for the commands: the shapes of a launch (--shape, a .shapes
   file's lines naming the program), the workspace plan (runtime/workspace.c, as libtile
   computes it) and its listing for `tilec build --emit=buffers`. docs/language.md,
   "Programs"; docs/runtime.md, "Programs". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* ---- shapes */

int program_bind_shapes(const TirProgram *p, const LaunchShape *shapes, int nshapes,
                        int64_t *syms, char *err, size_t errlen)
{
    for (int s = 0; s < p->nsyms; s++)
        syms[s] = -1;
    for (int i = 0; i < nshapes; i++)
        for (int s = 0; s < p->nsyms; s++)
            if (strcmp(p->syms[s], shapes[i].name) == 0)
                syms[s] = shapes[i].value;
    for (int s = 0; s < p->nsyms; s++)
        if (syms[s] < 0) {
            snprintf(err, errlen, "program %s: shape symbol %s has no size (--shape %s=N)",
                     p->name, p->syms[s], p->syms[s]);
            return -1;
        }
    return 0;
}

/* ---- the workspace plan */

int program_plan(const TirProgram *p, const int64_t *syms, ProgramPlan *out, char *err,
                 size_t errlen)
{
    memset(out, 0, sizeof *out);
    TbnWorkspaceValue values[TBN_MAX_PROGRAM_TEMPS];
    for (int v = 0; v < p->nvalues; v++) {
        const TirProgValue *val = &p->values[v];
        uint64_t bytes;
        if (!tir_program_value_bytes(p, val, syms, &bytes)) {
            snprintf(err, errlen, "program %s: %s's size overflows", p->name, val->name);
            return -1;
        }
        out->value_bytes[v] = bytes;
        out->temp_of[v] = -1;
        if (val->kind != TIR_PV_TEMP)
            continue;
        if (out->ntemps == TBN_MAX_PROGRAM_TEMPS) {
            snprintf(err, errlen, "program %s has more than %d intermediates", p->name,
                     TBN_MAX_PROGRAM_TEMPS);
            return -1;
        }
        out->temp_of[v] = out->ntemps;
        out->value_of_temp[out->ntemps] = v;
        values[out->ntemps++] = (TbnWorkspaceValue){bytes, (uint32_t)val->first, (uint32_t)val->last};
    }
    if (tbn_workspace_plan(values, (uint32_t)out->ntemps, &out->workspace) != 0) {
        snprintf(err, errlen, "program %s: its workspace's size overflows", p->name);
        return -1;
    }
    return 0;
}

uint64_t program_temp_offset(const ProgramPlan *plan, int value)
{
    return plan->workspace.offset[plan->temp_of[value]];
}

/* ---- --emit=buffers */

static uint64_t aligned(uint64_t bytes)
{
    return (bytes + TBN_WORKSPACE_ALIGN - 1) / TBN_WORKSPACE_ALIGN * TBN_WORKSPACE_ALIGN;
}

static void print_shape(FILE *out, const TirProgram *p, const int64_t *syms)
{
    for (int s = 0; s < p->nsyms; s++)
        fprintf(out, "%s%s=%lld", s ? "," : "", p->syms[s], (long long)syms[s]);
}

/* One allocation (values whose bytes overlap) a line, its values under it with their live
   ranges and offsets in it; then the peak beside the sum of every intermediate and the
   most bytes live at one call (no assignment for this order can need less). */
static void print_plan(FILE *out, const TirProgram *p, const int64_t *syms, const ProgramPlan *plan)
{
    const TbnWorkspacePlan *w = &plan->workspace;
    fputs("shape ", out);
    print_shape(out, p, syms);
    fputs(":\n", out);
    uint64_t naive = 0;
    for (uint32_t a = 0; a < w->nallocs; a++) {
        fprintf(out, "  allocation %u: offset %llu, %llu bytes\n", a,
                (unsigned long long)w->alloc_offset[a], (unsigned long long)w->alloc_bytes[a]);
        for (int t = 0; t < plan->ntemps; t++) {
            if (w->alloc_of[t] != a)
                continue;
            const TirProgValue *v = &p->values[plan->value_of_temp[t]];
            fprintf(out, "    %s [%d, %d] at +%llu: %s[", v->name, v->first, v->last,
                    (unsigned long long)(w->offset[t] - w->alloc_offset[a]), dtype_name(v->dtype));
            for (int d = 0; d < v->rank; d++)
                fprintf(out, "%s%lld", d ? ", " : "", (long long)(v->dims[d].sym >= 0 ?
                        syms[v->dims[d].sym] : v->dims[d].value));
            fprintf(out, "], %llu bytes\n",
                    (unsigned long long)plan->value_bytes[plan->value_of_temp[t]]);
        }
    }
    uint64_t live_max = 0;
    int live_at = 0;
    for (int t = 0; t < plan->ntemps; t++)
        naive += aligned(plan->value_bytes[plan->value_of_temp[t]]);
    for (int c = 0; c < p->ncalls; c++) {
        uint64_t live = 0;
        for (int t = 0; t < plan->ntemps; t++) {
            const TirProgValue *v = &p->values[plan->value_of_temp[t]];
            if (v->first <= c && c <= v->last)
                live += aligned(plan->value_bytes[plan->value_of_temp[t]]);
        }
        if (live > live_max) {
            live_max = live;
            live_at = c;
        }
    }
    fprintf(out, "  peak %llu bytes in %u allocation%s; naive sum %llu bytes of %d "
            "intermediate%s; live at once at most %llu bytes (call %d)\n",
            (unsigned long long)w->total, w->nallocs, w->nallocs == 1 ? "" : "s",
            (unsigned long long)naive, plan->ntemps, plan->ntemps == 1 ? "" : "s",
            (unsigned long long)live_max, live_at);
}

/* The default shapes file beside a source: x.tile's x.shapes. */
static char *shapes_file_beside(Arena *a, const char *source)
{
    size_t n = strlen(source);
    if (n > 5 && strcmp(source + n - 5, ".tile") == 0)
        n -= 5;
    return arena_printf(a, "%.*s.shapes", (int)n, source);
}

/* Parses `SYM=N,...` of a shapes file line into the program's symbols (-1: not given);
   false with the column (from 0) and the reason. */
static bool parse_shape_line(const TirProgram *p, char *text, int64_t *syms, int *col,
                             char *err, size_t errlen)
{
    for (int s = 0; s < p->nsyms; s++)
        syms[s] = -1;
    char *start = text;
    while (*text) {
        while (*text == ' ' || *text == '\t')
            text++;
        char *eq = strchr(text, '=');
        *col = (int)(text - start);
        if (!eq) {
            snprintf(err, errlen, "expected SYM=N");
            return false;
        }
        size_t len = (size_t)(eq - text);
        while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
            len--;
        int sym = -1;
        for (int s = 0; s < p->nsyms; s++)
            if (strlen(p->syms[s]) == len && strncmp(p->syms[s], text, len) == 0)
                sym = s;
        if (sym < 0) {
            snprintf(err, errlen, "program %s has no shape symbol '%.*s'", p->name, (int)len, text);
            return false;
        }
        char *end;
        errno = 0;
        long long v = strtoll(eq + 1, &end, 10);
        while (*end == ' ' || *end == '\t')
            end++;
        if (end == eq + 1 || v < 0 || errno == ERANGE || (*end && *end != ',')) {
            *col = (int)(eq + 1 - start);
            snprintf(err, errlen, "%.*s's size is not a non-negative integer", (int)len, text);
            return false;
        }
        syms[sym] = v;
        text = *end ? end + 1 : end;
    }
    for (int s = 0; s < p->nsyms; s++)
        if (syms[s] < 0) {
            *col = 0;
            snprintf(err, errlen, "no size for shape symbol %s of program %s", p->syms[s], p->name);
            return false;
        }
    return true;
}

typedef struct ShapesPrinter {
    FILE *out;
    const char *path;
    const TirProgram *p;
    int printed;
} ShapesPrinter;

/* One line of the shapes file: a plan printed when it names the program (`NAME: SYM=N,...`);
   other lines are other kernels' or programs'. */
static int print_shapes_line(void *ctx, char *line, int number)
{
    ShapesPrinter *sp = ctx;
    const TirProgram *p = sp->p;
    line[strcspn(line, "\r\n")] = 0;
    char *colon = strchr(line, ':'), *name = line;
    if (!colon)
        return EXIT_OK;
    *colon = 0;
    while (*name == ' ' || *name == '\t')
        name++;
    size_t len = strlen(name);
    while (len && (name[len - 1] == ' ' || name[len - 1] == '\t'))
        name[--len] = 0;
    if (strcmp(name, p->name) != 0)
        return EXIT_OK;
    int64_t syms[TIR_PROGRAM_MAX_SYMS];
    int col = 0;
    char err[512];
    ProgramPlan plan;
    if (!parse_shape_line(p, colon + 1, syms, &col, err, sizeof err)) {
        col += (int)(colon + 1 - line);
    } else if (program_plan(p, syms, &plan, err, sizeof err) == 0) {
        print_plan(sp->out, p, syms, &plan);
        sp->printed++;
        return EXIT_OK;
    }
    fprintf(stderr, "%s:%d:%d: error: %s\n", sp->path, number, col + 1, err);
    return EXIT_INPUT;
}

int program_emit_buffers(FILE *out, Arena *a, const Program *file, const char *source,
                         const char *only, const LaunchSpec *shapes)
{
    int printed = 0;
    const char *shapes_path = shapes_file_beside(a, source);
    for (int i = 0; i < file->nprograms; i++) {
        const TirProgram *p = file->programs[i]->ir;
        if (only && strcmp(only, file->programs[i]->name) != 0)
            continue;
        if (!p) {   /* a kernel it calls is not checked for this target */
            fprintf(stderr, "tilec: error: program %s calls a kernel the target cannot run\n",
                    file->programs[i]->name);
            return EXIT_INPUT;
        }
        if (printed++)
            fputc('\n', out);
        tir_program_print(out, p);
        char err[512];
        if (shapes->nshapes) {
            int64_t syms[TIR_PROGRAM_MAX_SYMS];
            ProgramPlan plan;
            if (program_bind_shapes(p, shapes->shapes, shapes->nshapes, syms, err, sizeof err) != 0) {
                fprintf(stderr, "tilec: error: %s\n", err);
                return EXIT_USAGE;
            }
            if (program_plan(p, syms, &plan, err, sizeof err) != 0) {
                fprintf(stderr, "tilec: error: %s\n", err);
                return EXIT_INPUT;
            }
            print_plan(out, p, syms, &plan);
            continue;
        }
        ShapesPrinter sp = {out, shapes_path, p, 0};
        if (access(shapes_path, F_OK) == 0) {
            int status = shapes_file_each_line(shapes_path, print_shapes_line, &sp);
            if (status != EXIT_OK)
                return status;
        }
        if (!sp.printed) {
            fprintf(stderr, "tilec: error: no shape for program %s: give --shape SYM=N,... or "
                    "list one in %s (`%s: SYM=N,...`)\n", p->name, shapes_path, p->name);
            return EXIT_USAGE;
        }
    }
    if (!printed) {
        if (only)
            fprintf(stderr, "tilec: error: no program named '%s'\n", only);
        else
            fprintf(stderr, "tilec: error: %s has no program: --emit=buffers prints a program's "
                    "workspace\n", source);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* ---- a program's launch: its parameters bound as a kernel's are (launch_bind), its
   workspace, and each call on the interpreter */

TirKernel *program_signature_kernel(Arena *a, const TirProgram *p)
{
    TirKernel *k = tir_kernel_new(a, p->name, p->loc);
    k->nsyms = p->nsyms;
    k->syms = arena_alloc(a, sizeof *k->syms * (size_t)(p->nsyms + 1));
    for (int s = 0; s < p->nsyms; s++)
        k->syms[s] = (TirSym){.name = p->syms[s]};
    k->nparams = p->nparams;
    k->params = arena_alloc(a, sizeof *k->params * (size_t)(p->nparams + 1));
    for (int i = 0; i < p->nparams; i++) {
        const TirProgParam *pp = &p->params[i];
        TirParam *tp = &k->params[i];
        *tp = (TirParam){.name = pp->name, .kind = pp->kind, .dtype = pp->dtype};
        if (pp->kind != PARAM_TENSOR)
            continue;
        const TirProgValue *v = &p->values[pp->value];
        tp->rank = v->rank;
        memcpy(tp->dims, v->dims, sizeof tp->dims);
    }
    return k;
}

static int find_value(const TirProgram *p, const char *name)
{
    for (int v = 0; v < p->nvalues; v++)
        if (strcmp(p->values[v].name, name) == 0)
            return v;
    return -1;
}

static int find_program_param(const TirProgram *p, const char *name)
{
    for (int i = 0; i < p->nparams; i++)
        if (strcmp(p->params[i].name, name) == 0)
            return i;
    return -1;
}

/* --in names an input tensor, --set a scalar, --out an output or an intermediate, --shape
   a shape symbol of the program. */
static int check_spec(const TirProgram *p, const LaunchSpec *spec)
{
    char err[1024] = "";
    for (int i = 0; i < spec->ninputs && !*err; i++) {
        int at = find_program_param(p, spec->inputs[i].name);
        if (at < 0 || p->params[at].kind != PARAM_TENSOR || at >= p->ninputs)
            snprintf(err, sizeof err, "--in %s: program %s has no input tensor '%s'%s",
                     spec->inputs[i].name, p->name, spec->inputs[i].name,
                     at >= p->ninputs ? " (it is an output: the program writes it)"
                     : at >= 0 ? " (it is a scalar: use --set)" : "");
    }
    for (int i = 0; i < spec->nsets && !*err; i++) {
        int at = find_program_param(p, spec->sets[i].name);
        if (at < 0 || p->params[at].kind != PARAM_SCALAR)
            snprintf(err, sizeof err, "--set %s: program %s has no scalar parameter '%s'%s",
                     spec->sets[i].name, p->name, spec->sets[i].name,
                     at >= 0 ? " (it is a tensor: use --in)" : "");
    }
    for (int i = 0; i < spec->noutputs && !*err; i++) {
        int v = find_value(p, spec->outputs[i].name);
        if (v < 0)
            snprintf(err, sizeof err, "--out %s: program %s has no output or intermediate '%s'",
                     spec->outputs[i].name, p->name, spec->outputs[i].name);
    }
    for (int i = 0; i < spec->nshapes && !*err; i++) {
        bool found = false;
        for (int s = 0; s < p->nsyms; s++)
            found |= strcmp(p->syms[s], spec->shapes[i].name) == 0;
        if (!found)
            snprintf(err, sizeof err, "--shape %s: program %s has no shape symbol '%s'",
                     spec->shapes[i].name, p->name, spec->shapes[i].name);
    }
    return *err ? cli_error(EXIT_USAGE, err) : EXIT_OK;
}

int program_run_bind(Arena *a, const Program *file, const char *name, const LaunchSpec *spec,
                     ProgramRun *out)
{
    memset(out, 0, sizeof *out);
    const ProgramDef *pd = program_find_program(file, name);
    if (!pd) {
        fprintf(stderr, "tilec: error: no program named '%s' (programs:", name);
        for (int i = 0; i < file->nprograms; i++)
            fprintf(stderr, " %s", file->programs[i]->name);
        fputs(file->nprograms ? ")\n" : " none)\n", stderr);
        return EXIT_USAGE;
    }
    const TirProgram *p = out->program = pd->ir;
    if (!p) {   /* a kernel it calls is not checked for this target */
        fprintf(stderr, "tilec: error: program %s calls a kernel the target cannot run\n", name);
        return EXIT_INPUT;
    }
    int status = check_spec(p, spec);
    if (status != EXIT_OK)
        return status;
    out->signature = program_signature_kernel(a, p);
    char err[1024];
    LaunchStatus ls = launch_bind(out->signature, spec, &out->args, err, sizeof err);
    if (ls != LAUNCH_OK)
        return cli_error(ls == LAUNCH_BAD_USAGE ? EXIT_USAGE : EXIT_INPUT, err);
    for (int i = p->ninputs; i < p->nparams; i++)
        out->args.args[i].is_output = true;
    if (program_plan(p, out->args.sym_values, &out->plan, err, sizeof err) != 0)
        return cli_error(EXIT_INPUT, err);
    int64_t bound = 0;
    for (int i = 0; i < out->args.nargs; i++)
        bound += (int64_t)out->args.args[i].tensor.nbytes;
    uint64_t total = out->plan.workspace.total;
    if (spec->max_bytes > 0 && total > (uint64_t)(spec->max_bytes - bound)) {
        snprintf(err, sizeof err, "program %s: a workspace of %llu bytes would take the run past "
                 "its limit of %lld bytes (--max-bytes raises it)", p->name,
                 (unsigned long long)total, (long long)spec->max_bytes);
        return cli_error(EXIT_INPUT, err);
    }
    out->workspace = aligned_alloc(TBN_WORKSPACE_ALIGN, total ? total : TBN_WORKSPACE_ALIGN);
    out->snapshots = calloc((size_t)p->nvalues + 1, sizeof *out->snapshots);
    if (!out->workspace || !out->snapshots)
        return cli_error(EXIT_INPUT, "out of memory");
    return EXIT_OK;
}

void program_run_free(ProgramRun *r)
{
    for (int v = 0; r->snapshots && r->program && v < r->program->nvalues; v++)
        host_free(&r->snapshots[v]);
    free(r->snapshots);
    free(r->workspace);
    launch_free(&r->args);
    memset(r, 0, sizeof *r);
}

/* A value of the program as a host tensor: a parameter's bound tensor, or an intermediate's
   bytes in the workspace (contiguous). */
static HostTensor value_tensor(const ProgramRun *r, int v)
{
    const TirProgram *p = r->program;
    const TirProgValue *val = &p->values[v];
    if (val->kind != TIR_PV_TEMP)
        return r->args.args[val->param].tensor;
    HostTensor t = {.dtype = val->dtype, .rank = val->rank,
                    .data = (char *)r->workspace + program_temp_offset(&r->plan, v),
                    .nbytes = (size_t)r->plan.value_bytes[v]};
    int64_t stride = 1;
    for (int d = val->rank - 1; d >= 0; d--) {
        t.shape[d] = val->dims[d].sym >= 0 ? r->args.sym_values[val->dims[d].sym] : val->dims[d].value;
        t.strides[d] = stride;
        stride *= t.shape[d] ? t.shape[d] : 1;
    }
    return t;
}

/* The arguments of one call of kernel `k` (lowered as `tk`) over the program's values. */
static int call_args(const ProgramRun *r, const TirProgCall *call, const Kernel *k,
                     const TirKernel *tk, LaunchArgs *out)
{
    *out = (LaunchArgs){.nargs = tk->nparams, .nsyms = tk->nsyms};
    out->args = calloc((size_t)tk->nparams + 1, sizeof *out->args);
    out->sym_values = calloc((size_t)tk->nsyms + 1, sizeof *out->sym_values);
    if (!out->args || !out->sym_values)
        return -1;
    for (int s = 0; s < tk->nsyms; s++)
        for (int j = 0; j < k->nsyms; j++)
            if (strcmp(k->syms[j]->name, tk->syms[s].name) == 0) {
                TirDim d = call->sym_sizes[j];
                out->sym_values[s] = d.sym >= 0 ? r->args.sym_values[d.sym] : d.value;
            }
    for (int i = 0; i < tk->nparams; i++) {
        const TirParam *tp = &tk->params[i];
        LaunchArg *la = &out->args[i];
        int ai = 0;
        while (ai < k->nparams && strcmp(k->params[ai]->name, tp->name) != 0)
            ai++;
        const TirProgArg *arg = &call->args[ai];
        la->given = true;
        if (tp->kind == PARAM_CONST) {
            la->ivalue = tp->const_value;
            la->fvalue = (double)tp->const_value;
        } else if (arg->kind == TIR_PARG_SCALAR) {
            la->ivalue = r->args.args[arg->index].ivalue;
            la->fvalue = r->args.args[arg->index].fvalue;
        } else if (arg->kind == TIR_PARG_LITERAL) {
            la->ivalue = arg->ivalue;
            la->fvalue = arg->fvalue;
        } else {
            la->tensor = value_tensor(r, arg->index);
            la->is_output = tir_param_is_written(tk, i);
            if (tp->reduce != REDUCE_NONE)
                launch_fill_identity(&la->tensor, tp->reduce);
        }
    }
    return 0;
}

/* Keeps a copy of each intermediate --out asks for once its writer has run (its bytes may
   serve another intermediate later). */
static int snapshot_written(ProgramRun *r, int call, const LaunchSpec *spec)
{
    const TirProgram *p = r->program;
    for (int o = 0; o < spec->noutputs; o++) {
        int v = find_value(p, spec->outputs[o].name);
        if (v < 0 || p->values[v].kind != TIR_PV_TEMP || p->values[v].writer != call)
            continue;
        HostTensor t = value_tensor(r, v);
        if (host_alloc(&r->snapshots[v], t.dtype, t.rank, t.shape) != 0)
            return -1;
        memcpy(r->snapshots[v].data, t.data, t.nbytes);
    }
    return 0;
}

int program_run_interpret(Arena *a, Diag *d, const Program *file, ProgramRun *r,
                          const LaunchSpec *spec, const InterpLimits *limits, bool gpu_arith)
{
    const TirProgram *p = r->program;
    for (int c = 0; c < p->ncalls; c++) {
        const TirProgCall *call = &p->calls[c];
        const Kernel *k = program_find_kernel(file, call->kernel);
        int64_t *consts = arena_alloc(a, sizeof *consts * (size_t)(k->nparams + 1));
        for (int i = 0; i < k->nparams; i++)
            consts[i] = call->args[i].ivalue;
        TirKernel *tk;
        Config config;
        int status = pipeline_kernel(a, d, k, consts, NULL, NULL, &tk, &config);
        if (status != EXIT_OK)
            return status;
        LaunchArgs args;
        if (call_args(r, call, k, tk, &args) != 0) {
            free(args.args);
            free(args.sym_values);
            return cli_error(EXIT_INPUT, "out of memory");
        }
        InterpOptions opts = {.gpu_arith = gpu_arith};
        int errors = interp_run(tk, &config, &args, limits, &opts, d);
        free(args.args);     /* the tensors are the program's: views, not owned */
        free(args.sym_values);
        if (errors) {
            fprintf(stderr, "tilec: error: program %s stopped at call %d (%s, %d:%d)\n", p->name,
                    c, call->kernel, call->loc.line, call->loc.col);
            return EXIT_INPUT;
        }
        if (snapshot_written(r, c, spec) != 0)
            return cli_error(EXIT_INPUT, "out of memory");
    }
    return EXIT_OK;
}

/* ---- a program on the GPU: its kernels in one bundle in memory (only the variants of
   the kernels it calls, for the GPU's target), its tensors uploaded between guard bands,
   one workspace, one tile_launch_program */

static int gpu_failed(GpuSession *s, tile_status st, const char *doing)
{
    char msg[1200];
    snprintf(msg, sizeof msg, "%s%s: %s", st == TILE_ERR_NO_DEVICE ? "no GPU: " : "", doing,
             tile_error_message(s->ctx));
    return cli_error(EXIT_INPUT, msg);
}

/* The program's arguments on the device, for tile_launch_program. */
static void device_args(const ProgramRun *r, const GpuLaunch *l, tile_arg *out)
{
    const TirKernel *sig = r->signature;
    for (int i = 0; i < sig->nparams; i++) {
        const TirParam *p = &sig->params[i];
        const LaunchArg *a = &r->args.args[i];
        if (p->kind == PARAM_TENSOR)
            out[i] = tile_arg_tensor((void *)(uintptr_t)l->tensors[i].base, (tile_dtype)p->dtype,
                                     a->tensor.rank, a->tensor.shape, a->tensor.strides);
        else if (p->dtype == DT_F32)
            out[i] = tile_arg_f32((float)a->fvalue);
        else if (dtype_is_float(p->dtype))
            out[i] = tile_arg_int((tile_dtype)p->dtype, dtype_encode_f64(p->dtype, a->fvalue));
        else
            out[i] = tile_arg_int((tile_dtype)p->dtype, a->ivalue);
        out[i].name = p->name;
    }
}

int program_run_gpu(Arena *a, Diag *d, const char *path, const Target *want, ProgramRun *r)
{
    char err[8192];
    GpuSession s;
    if (gpu_open(&s, want, err, sizeof err) != GPU_OK)
        return cli_error(EXIT_INPUT, err);
    const TirProgram *p = r->program;
    int status = EXIT_OK;
    GpuLaunch launch = {0};
    tile_bundle *bundle = NULL;
    CUdeviceptr workspace = 0;
    void *data = NULL;
    size_t size = 0;
    Program *file;
    tile_arg *args = calloc((size_t)p->nparams + 1, sizeof *args);
    /* the kernels' defaults depend on the target: the file checked for the GPU's */
    if (!args || front_end(a, d, path, s.target, &file)) {
        status = EXIT_INPUT;
        goto done;
    }
    BundleTarget target = {s.target, file};
    /* PTX only, as for a kernel's run: the driver compiles the variants it loads */
    BundleOptions o = {.path = "program", .program = p->name, .targets = &target, .ntargets = 1,
                       .ptxas = "", .memory = &data, .memory_size = &size};
    if ((status = bundle_write_program(a, d, &o)) != EXIT_OK)
        goto done;
    tile_status st = tile_bundle_load_memory(s.ctx, data, size, &bundle);
    if (st != TILE_OK) {
        status = gpu_failed(&s, st, "loading the program's bundle");
        goto done;
    }
    if (gpu_upload(&s, r->signature, &r->args, NULL, &launch, err, sizeof err) != GPU_OK) {
        status = cli_error(EXIT_INPUT, err);
        goto done;
    }
    device_args(r, &launch, args);
    size_t bytes = 0;
    st = tile_program_workspace_bytes(s.ctx, bundle, p->name, args, p->nparams, &bytes);
    /* cuMemAlloc aligns to 256 bytes; the room to align it here keeps any driver right */
    if (st == TILE_OK && bytes)
        st = tile_dev_alloc(s.ctx, bytes + TBN_WORKSPACE_ALIGN - 1, &workspace);
    CUdeviceptr base = (workspace + TBN_WORKSPACE_ALIGN - 1) / TBN_WORKSPACE_ALIGN * TBN_WORKSPACE_ALIGN;
    if (st == TILE_OK)
        st = tile_launch_program(s.ctx, bundle, p->name, args, p->nparams,
                                 (void *)(uintptr_t)base, bytes, s.stream);
    printf("gpu: %s, program %s: %d calls, a workspace of %zu bytes\n", s.info.name, p->name,
           p->ncalls, bytes);
    if (st != TILE_OK) {
        status = gpu_failed(&s, st, "launching the program");
        goto done;
    }
    if (gpu_check_guards(&s, &launch, err, sizeof err) != GPU_OK ||
        gpu_download(&s, &launch, &r->args, err, sizeof err) != GPU_OK)
        status = cli_error(EXIT_INPUT, err);
done:
    if (workspace)
        tile_dev_free(s.ctx, workspace);
    gpu_launch_free(&s, &launch);
    tile_bundle_free(bundle);
    gpu_close(&s);
    free(data);
    free(args);
    return status;
}
