/* schedule_print.c — `tilec build --emit=schedule`: the Schedule as stable text, every
   decision the emitter follows (the variant, threads and grouping, the size of each axis,
   the shared-memory plan, each dot's plan, the pipelined loops, the layout of every tile
   value and the conversions between layouts), so a change to the schedule is reviewed as
   a diff. Values are named as --emit=ir names them (%id: the pass pipeline renumbered them
   in print order). docs/codegen.md describes the format. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "codegen.h"
#include "tir.h"

typedef struct Printer {
    FILE *out;
    const Schedule *s;
    const Layout **layouts;    /* the distinct layouts, #0, #1, ... in order of appearance */
    int nlayouts, cap;
} Printer;

static const char *layout_kind_name(LayoutKind kind)
{
    switch (kind) {
    case LAYOUT_SCALAR: return "scalar";
    case LAYOUT_BLOCKED: return "blocked";
    case LAYOUT_MMA: return "mma";
    case LAYOUT_DERIVED: return "derived";
    }
    return "?";
}

static const char *operand_source_name(OperandSource source)
{
    switch (source) {
    case OPERAND_ASYNC: return "async";
    case OPERAND_STAGED: return "staged";
    case OPERAND_FRAGMENT: return "fragment";
    }
    return "?";
}

/* ---- layouts and their names */

static bool same_layout(const Layout *a, const Layout *b)
{
    return layout_equal(a, b) && a->kind == b->kind && (a->kind != LAYOUT_MMA || a->dot == b->dot);
}

/* The layout's name (#N) in the table, or -1. */
static int known_layout(const Printer *p, const Layout *l)
{
    for (int i = 0; i < p->nlayouts; i++)
        if (same_layout(p->layouts[i], l))
            return i;
    return -1;
}

/* The layout's name (#N), adding it when new; -1 when the table is full. */
static int layout_name(Printer *p, const Layout *l)
{
    int known = known_layout(p, l);
    if (known >= 0)
        return known;
    if (p->nlayouts == p->cap)
        return -1;
    p->layouts[p->nlayouts] = l;
    return p->nlayouts++;
}

/* " reg (0,1)(8,0)": the tile coordinate each bit moves an element by, per axis. */
static void print_bases(FILE *out, const char *what, const int (*bases)[LAYOUT_MAX_RANK], int n,
                        int rank)
{
    fprintf(out, " %s", what);
    if (n == 0)
        fputs(" -", out);
    for (int i = 0; i < n; i++) {
        fputs(i ? "(" : " (", out);
        for (int d = 0; d < rank; d++)
            fprintf(out, "%s%d", d ? "," : "", bases[i][d]);
        fputc(')', out);
    }
}

/* "mma of dot 0 [64, 64] reg ... lane ... warp ...": the map from register, lane and warp
   bits to tile coordinates (codegen.h, Layout). */
static void print_layout(FILE *out, const Layout *l)
{
    fputs(layout_kind_name(l->kind), out);
    if (l->kind == LAYOUT_MMA)
        fprintf(out, " of dot %d", l->dot);
    fputs(" [", out);
    for (int d = 0; d < l->rank; d++)
        fprintf(out, "%s%d", d ? ", " : "", l->shape[d]);
    fputc(']', out);
    print_bases(out, "reg", l->reg, l->nreg, l->rank);
    print_bases(out, "lane", l->lane, 5, l->rank);
    print_bases(out, "warp", l->warp, l->nwarp, l->rank);
}

/* #N for a layout the table lists; any other (a view a conversion reads) in full. */
static void print_layout_ref(Printer *p, const Layout *l)
{
    int name = known_layout(p, l);
    if (name >= 0)
        fprintf(p->out, "#%d", name);
    else
        print_layout(p->out, l);
}

/* Tile values only: a scalar is one register in every thread, never a decision. */
static const Layout *tile_layout(const Printer *p, const TirValue *v)
{
    return v->type.rank > 0 ? p->s->layouts[v->id] : NULL;
}

static void name_op_layouts(TirOp *op, void *ctx)
{
    Printer *p = ctx;
    for (int r = 0; r < op->nresults; r++)
        if (tile_layout(p, op->results[r]))
            layout_name(p, tile_layout(p, op->results[r]));
    for (int g = 0; g < 3; g++)
        for (int a = 0; op->regions[g] && a < op->regions[g]->nargs; a++)
            if (tile_layout(p, op->regions[g]->args[a]))
                layout_name(p, tile_layout(p, op->regions[g]->args[a]));
}

/* ---- the parts */

/* "for k @5:9": a loop by its variables and place. */
static void print_loop(FILE *out, const TirKernel *k, const TirOp *loop)
{
    fputs(loop->opcode == TIR_GRID ? "grid" : "for", out);
    for (int i = 0; i < loop->nvars; i++)
        fprintf(out, "%s%s", i ? ", " : " ", k->loopvars[loop->loopvars[i]]->name);
    fprintf(out, " @%d:%d", loop->loc.line, loop->loc.col);
}

static void print_header(FILE *out, const Schedule *s)
{
    const TirKernel *k = s->kernel;
    const Variant *v = s->variant;
    fprintf(out, "schedule %s: ", k->name);
    config_print(out, v->config);
    for (int i = 0; i < k->nsyms; i++)
        if (k->syms[i].is_full)
            fprintf(out, ",%s=%" PRId64, k->syms[i].name, v->full_sizes[i]);
    fprintf(out, "; align %s\n", align_class_name(v->align));
    fprintf(out, "  threads %d (%d warps), group_m %d, num_stages %d\n", s->num_threads,
            s->num_warps, s->group_m, s->stages);
    if (s->warp_specialized)
        fprintf(out, "  roles: a producer warpgroup (%d registers), %d compute threads in %d tile "
                "group%s (%d registers)%s\n", s->producer_regs, s->compute_threads, s->tile_groups,
                s->tile_groups == 1 ? "" : "s", s->consumer_regs,
                s->persistent ? ", persistent over the tiles" : "");
    fputs("  axes:", out);
    for (int i = 0; i < k->nloopvars; i++)
        fprintf(out, "%s %s %" PRId64, i ? "," : "", k->loopvars[i]->name, s->axis_size[i]);
    for (int i = 0; i < k->nsyms; i++)
        if (k->syms[i].is_full)
            fprintf(out, ", %s %" PRId64, k->syms[i].name, s->axis_size[k->nloopvars + i]);
    fprintf(out, "\n  shared memory: %d bytes (dot operands %d, then scratch %d at %d)\n",
            s->smem_bytes, s->scratch_offset, s->scratch_bytes, s->scratch_offset);
    fprintf(out, "  conversions through shared memory: %d\n", s->conversions);
}

static void print_layouts(Printer *p)
{
    fputs("  layouts:\n", p->out);
    for (int i = 0; i < p->nlayouts; i++) {
        fprintf(p->out, "    #%d ", i);
        print_layout(p->out, p->layouts[i]);
        fputc('\n', p->out);
    }
}

static void print_operand(FILE *out, const Schedule *s, const char *name, const OperandPlan *o,
                          bool wgmma)
{
    fprintf(out, "    %s: %s", name, operand_source_name(o->source));
    if (o->source == OPERAND_ASYNC)
        fprintf(out, " from %%%d (load %s)", o->load->results[0]->id,
                s->kernel->params[o->load->param].name);
    if (o->source == OPERAND_FRAGMENT) {
        fputs(", the registers of the accumulator it comes from\n", out);
        return;
    }
    fprintf(out, ", %s, %d rows of %d bytes (stride %d), %d slot%s at %d",
            o->k_major ? "k-major" : wgmma ? "mn-major" : "mn-major (ldmatrix.trans)", o->rows, o->row_bytes,
            o->row_stride, o->slots, o->slots == 1 ? "" : "s", o->smem_offset);
    if (o->layout == SMEM_SWIZZLED)
        fprintf(out, ", swizzled in %d-byte panels", o->swizzle);
    if (o->tmap >= 0)
        fprintf(out, ", TMA map %d", o->tmap);
    if (o->permute_k)
        fputs(", k permuted like an fp8 fragment a", out);
    if (o->loop) {
        fputs(", pipelined in ", out);
        print_loop(out, s->kernel, o->loop);
    }
    fputc('\n', out);
    if (o->landing) {
        const OperandPlan *l = o->landing;
        fprintf(out, "      its load %%%d (%s) lands through the ring first: %d rows of %d bytes, "
                     "%d slots at %d, swizzled in %d-byte panels, TMA map %d\n",
                l->load->results[0]->id, s->kernel->params[l->load->param].name, l->rows,
                l->row_bytes, l->slots, l->smem_offset, l->swizzle, l->tmap);
    }
}

static void print_dots(Printer *p)
{
    const Schedule *s = p->s;
    for (int i = 0; i < s->ndots; i++) {
        const DotPlan *d = &s->dots[i];
        fprintf(p->out, "  dot %d: %%%d @%d:%d, %s x %s, m %d n %d k %d (padded %d, mma k %d), ",
                i, d->op->results[0]->id, d->op->loc.line, d->op->loc.col, dtype_name(d->a_type),
                dtype_name(d->b_type), d->m, d->n, d->k, d->kpad, d->kstep);
        if (d->instr == DOT_WGMMA)
            fprintf(p->out, "wgmma m64n%d, warpgroups %dx%d, %dx%d instructions per warpgroup, acc ",
                    d->instr_n, d->wg_m, d->wg_n, d->m_instr, d->n_instr);
        else
            fprintf(p->out, "%s, warps %dx%d, %dx%d mma tiles per warp, acc ",
                    d->instr == DOT_FMA ? "fma" : d->a_type == DT_F32 ? "mma.sync tf32" : "mma.sync",
                    d->wm, d->wn, d->mi, d->nj);
        print_layout_ref(p, &d->acc);
        fputc('\n', p->out);
        print_operand(p->out, s, "a", &d->a, d->instr == DOT_WGMMA);
        print_operand(p->out, s, "b", &d->b, d->instr == DOT_WGMMA);
    }
    for (int i = 0; i < s->nloops; i++) {
        fputs("  pipelined ", p->out);
        print_loop(p->out, s->kernel, s->loops[i].loop);
        const LoopPlan *l = &s->loops[i];
        if (l->kind == PIPE_RING)
            fprintf(p->out, ": a ring of %d slots with full/empty mbarriers, filled by %s%s\n",
                    l->stages, l->tma ? "TMA" : "cp.async",
                    l->deferred >= 0 ? ", wgmma waits deferred one step" : "");
        else
            fprintf(p->out, ": %d stages\n", l->stages);
    }
}

/* "binary mul", "load q", "reduce max": an op as --emit=ir starts it. */
static const char *op_text(const TirKernel *k, const TirOp *op, char *buf, size_t size)
{
    const char *name = tir_op_info(op->opcode)->name, *detail = NULL;
    switch (op->opcode) {
    case TIR_UNARY: detail = tir_unary_name((TirUnaryOp)op->sub); break;
    case TIR_BINARY: detail = tir_binary_name((TirBinaryOp)op->sub); break;
    case TIR_CMP: detail = tir_cmp_name((TirCmpOp)op->sub); break;
    case TIR_REDUCE: detail = tir_reduce_name((TirReduceKind)op->sub); break;
    case TIR_LOAD: detail = k->params[op->param].name; break;
    default: break;
    }
    snprintf(buf, size, "%s%s%s", name, detail ? " " : "", detail ? detail : "");
    return buf;
}

/* A tile value and its layout; a scalar only when `scalar_too` (a reduction's result). */
static void print_value(Printer *p, const TirValue *v, const char *what, Loc loc, bool scalar_too)
{
    if (v->type.rank == 0 && !scalar_too)
        return;
    char type[128];
    fprintf(p->out, "    %%%d = %s : %s @%d:%d  ", v->id, what,
            tir_type_str(type, sizeof type, p->s->kernel, &v->type), loc.line, loc.col);
    const Layout *l = tile_layout(p, v);
    if (l)
        print_layout_ref(p, l);
    else
        fputs(v->type.rank == 0 ? "scalar" : "in shared memory only", p->out);
    fputc('\n', p->out);
}

static void print_conversion(const TirValue *v, const Layout *to, int64_t elements, void *ctx)
{
    Printer *p = ctx;
    fprintf(p->out, "      converts %%%d to ", v->id);
    print_layout_ref(p, to);
    fprintf(p->out, " through shared memory (%" PRId64 " elements)\n", elements);
}

/* An op's tile values in --emit=ir's order (results, then its regions' arguments), then
   what it converts. */
static void print_op_values(TirOp *op, void *ctx)
{
    Printer *p = ctx;
    static const char *const dot_regions[3] = {"prologue_a arg", "prologue_b arg",
                                               "epilogue arg"};
    char name[128];
    op_text(p->s->kernel, op, name, sizeof name);
    for (int r = 0; r < op->nresults; r++)
        print_value(p, op->results[r], name, op->loc, op->opcode == TIR_REDUCE);
    for (int g = 0; g < 3; g++)
        for (int a = 0; op->regions[g] && a < op->regions[g]->nargs; a++)
            print_value(p, op->regions[g]->args[a],
                        op->opcode == TIR_DOT ? dot_regions[g] : "carried", op->loc, false);
    int64_t bytes;
    int warps = schedule_reduce_warps(p->s, op, &bytes);
    if (warps > 1)
        fprintf(p->out, "      combines %d warps' partial results through shared memory (%"
                PRId64 " bytes)\n", warps, bytes);
    schedule_conversions(p->s, op, print_conversion, p);
}

void schedule_print(FILE *out, const Schedule *s)
{
    Printer p = {.out = out, .s = s, .cap = s->kernel->nvalues + s->ndots + 1};
    p.layouts = malloc(sizeof *p.layouts * (size_t)p.cap);
    if (!p.layouts)
        p.cap = 0;   /* every layout printed in full */
    for (int i = 0; i < s->ndots; i++)
        layout_name(&p, &s->dots[i].acc);
    tir_walk(s->kernel->body, name_op_layouts, &p);
    print_header(out, s);
    print_layouts(&p);
    print_dots(&p);
    fputs("  values:\n", out);
    tir_walk(s->kernel->body, print_op_values, &p);
    free(p.layouts);
}
