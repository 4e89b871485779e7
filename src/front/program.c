/* program.c — checks a `program` (docs/language.md, "Programs"): its parameters and
   intermediates, and each call against its kernel's signature (arguments by position or
   name, dtypes, ranks, shape symbols unified with the program's, scalars and const values),
   finds what each call reads and writes from the kernel's body, and lowers the program to
   the program IR (tir.h's TirProgram), which tir_program_order orders. */
#include <stdlib.h>
#include <string.h>

#include "front.h"

typedef struct ProgramChecker {
    Arena *arena;
    Diag *diag;
    const Program *file;
    ProgramDef *def;
    TirProgram *ir;
    bool *broken_temp;           /* per intermediate: its declaration has errors */
} ProgramChecker;

/* ---- what a kernel does with its tensor parameters */

static void note_reads(const Expr *e, bool *reads);

static void note_reads_args(Expr *const *args, int n, bool *reads)
{
    for (int i = 0; i < n; i++)
        note_reads(args[i], reads);
}

/* The tensor parameter an index expression names, or NULL. */
static const Param *indexed_tensor(const Expr *e)
{
    if (!e || e->kind != EXPR_INDEX || !e->lhs || e->lhs->kind != EXPR_NAME || !e->lhs->sym)
        return NULL;
    const Symbol *s = e->lhs->sym;
    return s->kind == SYM_PARAM && s->param->kind == PARAM_TENSOR ? s->param : NULL;
}

static void note_reads(const Expr *e, bool *reads)
{
    if (!e)
        return;
    const Param *p = indexed_tensor(e);
    if (p)
        reads[p->index] = true;
    note_reads(e->lhs, reads);
    note_reads(e->rhs, reads);
    note_reads(e->cond, reads);
    note_reads_args(e->args, e->nargs, reads);
}

/* An indexed tensor written by a store or an atomic: its index reads, the tensor is written. */
static void note_target(const Expr *target, bool *reads, bool *writes)
{
    const Param *p = indexed_tensor(target);
    if (p)
        writes[p->index] = true;
    if (target)
        note_reads_args(target->args, target->nargs, reads);
}

static void note_stmts(Stmt *const *body, int n, bool *reads, bool *writes)
{
    for (int i = 0; i < n; i++) {
        const Stmt *s = body[i];
        if (!s)
            continue;
        switch (s->kind) {
        case STMT_STORE:
            note_target(s->target, reads, writes);
            note_reads(s->value, reads);
            break;
        case STMT_EXPR: {
            const Expr *call = s->value;
            bool atomic = call->builtin == BI_ATOMIC_ADD || call->builtin == BI_ATOMIC_MAX ||
                          call->builtin == BI_ATOMIC_MIN;
            if (atomic && call->nargs > 0) {
                note_target(call->args[0], reads, writes);
                note_reads_args(call->args + 1, call->nargs - 1, reads);
            } else {
                note_reads(call, reads);
            }
            break;
        }
        case STMT_ASSIGN:
            note_reads(s->value, reads);
            break;
        case STMT_FOR:
            for (int v = 0; v < s->nvars; v++) {
                note_reads(s->vars[v]->start, reads);
                note_reads(s->vars[v]->extent, reads);
            }
            note_stmts(s->body, s->nbody, reads, writes);
            break;
        case STMT_IF:
            /* both branches: the const values of a call pick one, but a program is checked
               for what its kernels may do */
            note_reads(s->cond, reads);
            note_stmts(s->body, s->nbody, reads, writes);
            note_stmts(s->else_body, s->nelse, reads, writes);
            break;
        case STMT_TUNE:
        case STMT_SIZES:
            break;
        }
    }
}

/* ---- the signature and the intermediates */

static int find_sym(const ProgramDef *pd, const char *name)
{
    for (int i = 0; i < pd->nsyms; i++)
        if (strcmp(pd->syms[i]->name, name) == 0)
            return i;
    return -1;
}

/* The program's tensor or scalar parameter, or intermediate, of that name: its index in
   params (*is_temp false) or temps (true); -1 when there is none. */
static int find_name(const ProgramDef *pd, const char *name, bool *is_temp)
{
    for (int i = 0; i < pd->nparams; i++)
        if (strcmp(pd->params[i]->name, name) == 0) {
            *is_temp = false;
            return i;
        }
    for (int i = 0; i < pd->ntemps; i++)
        if (strcmp(pd->temps[i]->name, name) == 0) {
            *is_temp = true;
            return i;
        }
    return -1;
}

static void check_params(ProgramChecker *pc, const SemaOptions *opts)
{
    ProgramDef *pd = pc->def;
    sema_check_signature(pc->arena, pc->diag, opts, pd->name, pd->params, pd->nparams,
                         &pd->syms, &pd->nsyms);
    if (pd->nparams > TIR_PROGRAM_MAX_PARAMS)
        diag_error(pc->diag, pd->loc, "program %s has %d parameters; at most %d are allowed",
                   pd->name, pd->nparams, TIR_PROGRAM_MAX_PARAMS);
    if (pd->nsyms > TIR_PROGRAM_MAX_SYMS)
        diag_error(pc->diag, pd->loc, "program %s has %d shape symbols; at most %d are allowed",
                   pd->name, pd->nsyms, TIR_PROGRAM_MAX_SYMS);
    if (pd->nparams == pd->ninputs)
        diag_error(pc->diag, pd->loc, "program %s has no outputs: list them after `->`",
                   pd->name);
    for (int i = 0; i < pd->nparams; i++) {
        const Param *p = pd->params[i];
        if (p->kind == PARAM_CONST)
            diag_error(pc->diag, p->loc, "program parameter %s is const: a program's "
                       "parameters are tensors and scalars; give a kernel's const values at "
                       "its call", p->name);
        else if (p->reduce != REDUCE_NONE)
            diag_error(pc->diag, p->loc, "program parameter %s is declared reduce(...): a "
                       "kernel's reduction target is set at each launch; drop it here", p->name);
        else if (i >= pd->ninputs && p->kind != PARAM_TENSOR)
            diag_error(pc->diag, p->loc, "output %s is a scalar: a program's outputs are "
                       "tensors", p->name);
    }
}

static void check_temps(ProgramChecker *pc)
{
    ProgramDef *pd = pc->def;
    pc->broken_temp = arena_alloc(pc->arena, (size_t)pd->ntemps + 1);
    if (pd->nparams + pd->ntemps > TIR_PROGRAM_MAX_VALUES)
        diag_error(pc->diag, pd->loc, "program %s has %d tensors; at most %d are allowed",
                   pd->name, pd->nparams + pd->ntemps, TIR_PROGRAM_MAX_VALUES);
    for (int t = 0; t < pd->ntemps; t++) {
        Param *temp = pd->temps[t];
        temp->index = t;
        int errors = pc->diag->errors;
        bool is_temp;
        int same = find_name(pd, temp->name, &is_temp);
        if (same >= 0 && (!is_temp || same < t)) {
            Loc first = is_temp ? pd->temps[same]->loc : pd->params[same]->loc;
            diag_error(pc->diag, temp->loc, "%s is declared twice (first at %d:%d)", temp->name,
                       first.line, first.col);
        } else if (find_sym(pd, temp->name) >= 0) {
            diag_error(pc->diag, temp->loc, "intermediate %s has the name of a shape symbol",
                       temp->name);
        }
        for (int d = 0; d < temp->rank; d++) {
            ShapeDim *dim = &temp->dims[d];
            dim->sym = -1;
            if (!dim->is_symbol) {
                if (dim->value < 1 || dim->value > INT32_MAX)
                    diag_error(pc->diag, dim->loc, "dim %d of %s has size %lld: sizes are 1 to "
                               "%d", d, temp->name, (long long)dim->value, INT32_MAX);
            } else if ((dim->sym = find_sym(pd, dim->name)) < 0) {
                diag_error(pc->diag, dim->loc, "shape symbol %s of intermediate %s is not a dim "
                           "of any parameter of %s: its size would be unknown at launch",
                           dim->name, temp->name, pd->name);
            }
        }
        pc->broken_temp[t] = pc->diag->errors != errors;
    }
}

/* ---- the program IR's values and parameters */

static void value_from_param(TirProgValue *v, const Param *p, TirProgValueKind kind, int param)
{
    *v = (TirProgValue){.name = p->name, .loc = p->loc, .kind = kind, .dtype = p->dtype,
                        .rank = p->rank, .param = param, .writer = -1, .first = -1,
                        .last = -1};
    for (int d = 0; d < p->rank; d++)
        v->dims[d] = (TirDim){.sym = p->dims[d].sym, .value = p->dims[d].value};
}

static void lower_values(ProgramChecker *pc)
{
    ProgramDef *pd = pc->def;
    TirProgram *ir = pc->ir;
    ir->name = pd->name;
    ir->loc = pd->loc;
    ir->nsyms = pd->nsyms;
    ir->syms = arena_alloc(pc->arena, sizeof *ir->syms * (size_t)(pd->nsyms + 1));
    for (int s = 0; s < pd->nsyms; s++)
        ir->syms[s] = pd->syms[s]->name;
    ir->nparams = pd->nparams;
    ir->ninputs = pd->ninputs;
    ir->params = arena_alloc(pc->arena, sizeof *ir->params * (size_t)(pd->nparams + 1));
    ir->values = arena_alloc(pc->arena, sizeof *ir->values * (size_t)(pd->nparams + pd->ntemps + 1));
    for (int i = 0; i < pd->nparams; i++) {
        const Param *p = pd->params[i];
        TirProgParam *pp = &ir->params[i];
        *pp = (TirProgParam){.name = p->name, .kind = p->kind, .dtype = p->dtype, .value = -1};
        if (p->kind != PARAM_TENSOR)
            continue;
        pp->value = ir->nvalues;
        value_from_param(&ir->values[ir->nvalues++], p,
                         i < pd->ninputs ? TIR_PV_INPUT : TIR_PV_OUTPUT, i);
    }
    for (int t = 0; t < pd->ntemps; t++)
        value_from_param(&ir->values[ir->nvalues++], pd->temps[t], TIR_PV_TEMP, -1);
}

/* The IR value of a program tensor (a parameter's or an intermediate's). */
static int value_index(const ProgramChecker *pc, int index, bool is_temp)
{
    if (is_temp)
        return pc->ir->nvalues - pc->def->ntemps + index;
    return pc->ir->params[index].value;
}

/* ---- calls */

/* "f32[M, N]" of a kernel's or a program's tensor parameter, by its own symbol names. */
static const char *param_type(Arena *a, const Param *p)
{
    char buf[512];
    size_t used = (size_t)snprintf(buf, sizeof buf, "%s", dtype_name(p->dtype));
    if (p->kind == PARAM_TENSOR) {
        used += (size_t)snprintf(buf + used, sizeof buf - used, "[");
        for (int d = 0; d < p->rank && used < sizeof buf; d++) {
            if (p->dims[d].is_symbol)
                used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", d ? ", " : "",
                                         p->dims[d].name);
            else
                used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%lld", d ? ", " : "",
                                         (long long)p->dims[d].value);
        }
        if (used < sizeof buf)
            snprintf(buf + used, sizeof buf - used, "]");
    }
    return arena_strdup(a, buf);
}

/* The call's arguments by kernel parameter: positional ones first, then `name=value`. */
static bool bind_args(ProgramChecker *pc, const ProgramCall *call, const Kernel *k, Expr **bound)
{
    bool ok = true, named = false;
    for (int i = 0; i < call->nargs; i++) {
        Expr *arg = call->args[i];
        if (arg->kind != EXPR_KWARG) {
            if (named) {
                diag_error(pc->diag, arg->loc, "a positional argument after a named one");
                return false;
            }
            if (i >= k->nparams) {
                diag_error(pc->diag, arg->loc, "%s takes %d argument%s, %d given", k->name,
                           k->nparams, k->nparams == 1 ? "" : "s", call->nargs);
                return false;
            }
            bound[i] = arg;
            continue;
        }
        named = true;
        int p = -1;
        for (int j = 0; j < k->nparams && p < 0; j++)
            if (strcmp(k->params[j]->name, arg->name) == 0)
                p = j;
        if (p < 0) {
            diag_error(pc->diag, arg->loc, "%s has no parameter '%s'", k->name, arg->name);
            ok = false;
        } else if (bound[p]) {
            diag_error(pc->diag, arg->loc, "argument %s of %s is given twice", arg->name, k->name);
            ok = false;
        } else {
            bound[p] = arg->lhs;
        }
    }
    char missing[512] = "";
    int nmissing = 0;
    for (int j = 0; j < k->nparams; j++)
        if (!bound[j] && strlen(missing) + strlen(k->params[j]->name) + 3 < sizeof missing) {
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s",
                     nmissing ? ", " : "", k->params[j]->name);
            nmissing++;
        }
    if (nmissing) {
        diag_error(pc->diag, call->loc, "missing argument%s %s of %s", nmissing > 1 ? "s" : "",
                   missing, k->name);
        ok = false;
    }
    return ok;
}

/* A literal argument's value: an integer, float or bool literal, or a negated number. */
static bool literal_value(const Expr *e, bool *is_float, bool *is_bool, int64_t *i, double *f)
{
    bool negate = e->kind == EXPR_UNARY && e->op == UN_NEG && e->lhs;
    const Expr *x = negate ? e->lhs : e;
    *is_float = x->kind == EXPR_FLOAT;
    *is_bool = x->kind == EXPR_BOOL;
    if (x->kind != EXPR_INT && x->kind != EXPR_FLOAT && x->kind != EXPR_BOOL)
        return false;
    if (negate && *is_bool)
        return false;
    *i = negate ? -x->int_value : x->int_value;
    *f = negate ? -x->float_value : x->float_value;
    if (!*is_float)
        *f = (double)*i;
    return true;
}

static bool fits_dtype(DType t, int64_t v)
{
    return t != DT_I32 || (v >= INT32_MIN && v <= INT32_MAX);
}

/* A literal for a scalar or const parameter `p` of the kernel. */
static bool bind_literal(ProgramChecker *pc, const Kernel *k, const Param *p, const Expr *e,
                         TirProgArg *out)
{
    bool is_float, is_bool;
    int64_t i;
    double f;
    if (!literal_value(e, &is_float, &is_bool, &i, &f)) {
        diag_error(pc->diag, e->loc, "argument %s of %s must be %s", p->name, k->name,
                   p->kind == PARAM_CONST ? "a literal: const values are compiled in"
                                          : "a scalar parameter of the program or a literal");
        return false;
    }
    bool ok = p->dtype == DT_BOOL ? is_bool : dtype_is_int(p->dtype) ? !is_float && !is_bool
                                                                     : !is_bool;
    if (!ok) {
        diag_error(pc->diag, e->loc, "argument %s of %s is %s; this is %s literal", p->name,
                   k->name, dtype_name(p->dtype), is_bool ? "a bool" : is_float ? "a float"
                                                                               : "an integer");
        return false;
    }
    if (!fits_dtype(p->dtype, i)) {
        diag_error(pc->diag, e->loc, "argument %s of %s is %s; %lld does not fit it", p->name,
                   k->name, dtype_name(p->dtype), (long long)i);
        return false;
    }
    if (p->kind == PARAM_CONST && p->dtype != DT_BOOL) {
        bool listed = false;
        char values[256] = "";
        for (int v = 0; v < p->nconst_values; v++) {
            listed |= p->const_values[v] == i;
            if (strlen(values) < 200)
                snprintf(values + strlen(values), sizeof values - strlen(values), "%s%lld",
                         v ? ", " : "", (long long)p->const_values[v]);
        }
        if (!listed) {
            diag_error(pc->diag, e->loc, "%s=%lld is not a value of %s's const %s (it lists %s)",
                       p->name, (long long)i, k->name, p->name, values);
            return false;
        }
    }
    out->kind = TIR_PARG_LITERAL;
    out->ivalue = i;
    out->fvalue = dtype_is_float(p->dtype) ? dtype_decode(p->dtype, dtype_encode_f64(p->dtype, f)) : f;
    return true;
}

/* A scalar parameter of the kernel: the program's scalar of the same dtype, or a literal. */
static bool bind_scalar(ProgramChecker *pc, const Kernel *k, const Param *p, const Expr *e,
                        TirProgArg *out)
{
    if (e->kind != EXPR_NAME || p->kind == PARAM_CONST)
        return bind_literal(pc, k, p, e, out);
    bool is_temp;
    int index = find_name(pc->def, e->name, &is_temp);
    const Param *given = index < 0 ? NULL : is_temp ? pc->def->temps[index] : pc->def->params[index];
    if (!given) {
        diag_error(pc->diag, e->loc, "unknown name %s in program %s", e->name, pc->def->name);
        return false;
    }
    if (given->kind != PARAM_SCALAR || given->dtype != p->dtype) {
        diag_error(pc->diag, e->loc, "%s's parameter %s is %s; %s is %s", k->name, p->name,
                   dtype_name(p->dtype), e->name, param_type(pc->arena, given));
        return false;
    }
    out->kind = TIR_PARG_SCALAR;
    out->index = index;
    return true;
}

/* Unifies the kernel's shape symbols with the program's dims, per kernel symbol: the first
   argument binding it (`from`) and what it is (sizes). */
typedef struct SymBinding {
    TirDim *sizes;
    const char **from;
} SymBinding;

static const char *dim_text(const ProgramChecker *pc, TirDim d)
{
    return d.sym >= 0 ? pc->def->syms[d.sym]->name : arena_printf(pc->arena, "%lld", (long long)d.value);
}

static bool unify_dims(ProgramChecker *pc, const Kernel *k, const Param *p, const Expr *e,
                       const TirProgValue *v, SymBinding *b)
{
    bool ok = true;
    for (int d = 0; d < p->rank; d++) {
        const ShapeDim *kd = &p->dims[d];
        TirDim given = v->dims[d];
        if (!kd->is_symbol) {
            if (given.sym >= 0 || given.value != kd->value) {
                diag_error(pc->diag, e->loc, "dim %d of %s's parameter %s is %lld; %s's is %s", d,
                           k->name, p->name, (long long)kd->value, v->name, dim_text(pc, given));
                ok = false;
            }
            continue;
        }
        TirDim *have = &b->sizes[kd->sym];
        if (!b->from[kd->sym]) {
            *have = given;
            b->from[kd->sym] = v->name;
        } else if (have->sym != given.sym || (given.sym < 0 && have->value != given.value)) {
            diag_error(pc->diag, e->loc, "shape symbol %s of %s is %s here (dim %d of %s) but %s "
                       "from %s: the same symbol must be the same size", kd->name, k->name,
                       dim_text(pc, given), d, v->name, dim_text(pc, *have), b->from[kd->sym]);
            ok = false;
        }
    }
    return ok;
}

static bool bind_tensor(ProgramChecker *pc, const Kernel *k, const Param *p, const Expr *e,
                        SymBinding *b, TirProgArg *out)
{
    bool is_temp;
    int index = e->kind == EXPR_NAME ? find_name(pc->def, e->name, &is_temp) : -1;
    if (e->kind != EXPR_NAME) {
        diag_error(pc->diag, e->loc, "argument %s of %s is a tensor: name a parameter or an "
                   "intermediate of the program", p->name, k->name);
        return false;
    }
    if (index < 0) {
        diag_error(pc->diag, e->loc, "unknown name %s in program %s", e->name, pc->def->name);
        return false;
    }
    if (is_temp && pc->broken_temp[index])
        return false;    /* its declaration's errors were reported */
    const Param *given = is_temp ? pc->def->temps[index] : pc->def->params[index];
    if (given->kind != PARAM_TENSOR || given->dtype != p->dtype) {
        diag_error(pc->diag, e->loc, "%s's parameter %s is %s; %s is %s", k->name, p->name,
                   param_type(pc->arena, p), e->name, param_type(pc->arena, given));
        return false;
    }
    if (given->rank != p->rank) {
        diag_error(pc->diag, e->loc, "%s's parameter %s has rank %d (%s); %s has rank %d (%s)",
                   k->name, p->name, p->rank, param_type(pc->arena, p), e->name, given->rank,
                   param_type(pc->arena, given));
        return false;
    }
    out->kind = TIR_PARG_VALUE;
    out->index = value_index(pc, index, is_temp);
    return unify_dims(pc, k, p, e, &pc->ir->values[out->index], b);
}

static const char *kernel_list(ProgramChecker *pc)
{
    char buf[512] = "";
    for (int i = 0; i < pc->file->nkernels && strlen(buf) < 400; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? ", " : "",
                 pc->file->kernels[i]->name);
    return arena_strdup(pc->arena, buf);
}

/* Checks one call and lowers it into *out; false after reporting. */
static bool lower_call(ProgramChecker *pc, ProgramCall *call, TirProgCall *out)
{
    Kernel *k = program_find_kernel(pc->file, call->kernel_name);
    call->kernel = k;
    if (!k) {
        if (program_find_program(pc->file, call->kernel_name))
            diag_error(pc->diag, call->loc, "%s is a program: a program calls kernels",
                       call->kernel_name);
        else
            diag_error(pc->diag, call->loc, "unknown kernel '%s' (kernels: %s)",
                       call->kernel_name, kernel_list(pc));
        return false;
    }
    if (!k->checked)
        return false;    /* its own errors were reported */
    Expr **bound = arena_alloc(pc->arena, sizeof *bound * (size_t)(k->nparams + 1));
    if (!bind_args(pc, call, k, bound))
        return false;
    *out = (TirProgCall){.kernel = k->name, .loc = call->loc, .nargs = k->nparams,
                         .nsyms = k->nsyms};
    out->args = arena_alloc(pc->arena, sizeof *out->args * (size_t)(k->nparams + 1));
    out->sym_sizes = arena_alloc(pc->arena, sizeof *out->sym_sizes * (size_t)(k->nsyms + 1));
    SymBinding b = {out->sym_sizes, arena_alloc(pc->arena, sizeof *b.from * (size_t)(k->nsyms + 1))};
    bool *reads = arena_alloc(pc->arena, (size_t)k->nparams + 1);
    bool *writes = arena_alloc(pc->arena, (size_t)k->nparams + 1);
    note_stmts(k->body, k->nbody, reads, writes);
    bool ok = true;
    for (int i = 0; i < k->nparams; i++) {
        const Param *p = k->params[i];
        TirProgArg *arg = &out->args[i];
        *arg = (TirProgArg){.param = p->name, .dtype = p->dtype, .loc = bound[i]->loc,
                            .reads = reads[i], .writes = writes[i]};
        if (p->kind == PARAM_TENSOR)
            ok = bind_tensor(pc, k, p, bound[i], &b, arg) && ok;
        else
            ok = bind_scalar(pc, k, p, bound[i], arg) && ok;
    }
    return ok;
}

int program_check(Arena *a, Diag *d, Program *p, ProgramDef *pd, const SemaOptions *opts)
{
    int errors = d->errors;
    ProgramChecker pc = {.arena = a, .diag = d, .file = p, .def = pd};
    pd->ir = NULL;
    check_params(&pc, opts);
    if (pd->ncalls > TIR_PROGRAM_MAX_CALLS)
        diag_error(d, pd->loc, "program %s makes %d calls; at most %d are allowed", pd->name,
                   pd->ncalls, TIR_PROGRAM_MAX_CALLS);
    if (d->errors != errors)
        return d->errors - errors;   /* the calls' checks rest on the signature */
    check_temps(&pc);
    pc.ir = arena_alloc(a, sizeof *pc.ir);
    lower_values(&pc);
    pc.ir->calls = arena_alloc(a, sizeof *pc.ir->calls * (size_t)(pd->ncalls + 1));
    bool lowered = true;    /* a call of a kernel with errors of its own is not, silently */
    for (int c = 0; c < pd->ncalls; c++) {
        TirProgCall *call = &pc.ir->calls[pc.ir->ncalls];
        if (lower_call(&pc, pd->calls[c], call))
            call->source_index = pc.ir->ncalls++;
        else
            lowered = false;
    }
    if (lowered && d->errors == errors && tir_program_order(pc.ir, d) == 0)
        pd->ir = pc.ir;
    return d->errors - errors;
}
