/* mma_probe.c — builds real tensor-core kernels with the codegen toolkit (llvm_ptx.c, nvvm.c)
   and prints their PTX (or LLVM IR): a 128x128 bf16 GEMM tile kernel (cp.async 16-byte
   copies into swizzled shared memory, ldmatrix/.trans, mma.sync m16n8k16), fp8 variants for
   A[M,K]·B[N,K]ᵀ (m16n8k32), and a self-test kernel for the smaller emitters. Edges are
   masked with cp.async's zero fill and predicated stores. A stand-in for the TIR emitter
   until it exists; bench/probe_gemm runs these kernels on the GPU.

   usage: mma_probe [--emit=ptx|llvm] [--stages N] [--target sm_90a] [--no-lineinfo] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"

/* The pretend .tile source the line info points at (mma_probe.tile, written out by
   tests/codegen/check_mma_probe.sh next to the PTX): */
enum {
    LINE_KERNEL = 1,   /* kernel gemm(a, b, c) {                     */
    LINE_GRID = 2,     /*     for m, n in tile(M, N) {               */
    LINE_ZEROS = 3,    /*         acc = zeros([m, n], f32)           */
    LINE_K_LOOP = 4,   /*         for k in tile(K) {                 */
    LINE_DOT = 5,      /*             acc += a[m, k] @ b[k, n]       */
    LINE_STORE = 7,    /*         c[m, n] = acc.to(bf16)             */
};

typedef struct GemmSpec {
    const char *name;
    DType ab;          /* operand type: DT_BF16, DT_F8E4M3, DT_F8E5M2 */
    bool b_k_major;    /* B is [N, K] (K contiguous); else [K, N], read with ldmatrix.trans */
    int stages;        /* cp.async ring depth, >= 2 */
    int copy_bytes;    /* 16: cp.async.cg; 8 or 4: cp.async.ca, for rows not 16-byte aligned */
    int group_m;       /* L2 grouping of the 1-D grid */
    int warps_m, warps_n;  /* warp grid over the block: 2x2 (64x64 per warp) or 2x4 */
    bool widen_fp8;    /* fp8: convert each fragment to f16 once and issue f16 m16n8k16 */
} GemmSpec;

/* Block shape: 128x128, 128 bytes of K per shared-memory row (BK = 64 bf16 or 128 fp8), rows
   swizzled in 16-byte chunks. MAX_MI/MAX_NJ bound the per-warp 16x8 accumulator tiles. */
enum { BM = 128, BN = 128, K_ROW_BYTES = 128, MAX_MI = 4, MAX_NJ = 8 };

typedef struct Gemm {
    CodegenContext *cg;
    LLVMBuilderRef b;
    const GemmSpec *spec;
    int es, bk;                        /* element bytes; K per block step in elements */
    int threads, wm_rows, wn_cols, mi_count, nj_count; /* warp tile and its 16x8 tiles */
    int a_tile_bytes, b_tile_bytes, stage_bytes, b_row_bytes;
    LLVMValueRef a, bmat, c, M, N, K, lda, ldb, ldc;
    LLVMValueRef tid, lane, wm, wn, m0, n0, smem;
} Gemm;

/* ---- small builders */

static LLVMValueRef c32(Gemm *g, long long v) { return LLVMConstInt(g->cg->t.i32, (unsigned long long)v, 1); }
static LLVMValueRef add(Gemm *g, LLVMValueRef x, LLVMValueRef y) { return LLVMBuildAdd(g->b, x, y, ""); }
static LLVMValueRef sub(Gemm *g, LLVMValueRef x, LLVMValueRef y) { return LLVMBuildSub(g->b, x, y, ""); }
static LLVMValueRef mul(Gemm *g, LLVMValueRef x, LLVMValueRef y) { return LLVMBuildMul(g->b, x, y, ""); }
static LLVMValueRef addi(Gemm *g, LLVMValueRef x, long long v) { return add(g, x, c32(g, v)); }
static LLVMValueRef muli(Gemm *g, LLVMValueRef x, long long v) { return mul(g, x, c32(g, v)); }
static LLVMValueRef andi(Gemm *g, LLVMValueRef x, long long v) { return LLVMBuildAnd(g->b, x, c32(g, v), ""); }
static LLVMValueRef shri(Gemm *g, LLVMValueRef x, long long v) { return LLVMBuildLShr(g->b, x, c32(g, v), ""); }
static LLVMValueRef shli(Gemm *g, LLVMValueRef x, long long v) { return LLVMBuildShl(g->b, x, c32(g, v), ""); }
static LLVMValueRef lt(Gemm *g, LLVMValueRef x, LLVMValueRef y) { return LLVMBuildICmp(g->b, LLVMIntSLT, x, y, ""); }
static LLVMValueRef sel(Gemm *g, LLVMValueRef c, LLVMValueRef x, LLVMValueRef y) { return LLVMBuildSelect(g->b, c, x, y, ""); }
static LLVMValueRef min32(Gemm *g, LLVMValueRef x, LLVMValueRef y) { return sel(g, lt(g, x, y), x, y); }
static LLVMValueRef wide(Gemm *g, LLVMValueRef x) { return LLVMBuildSExt(g->b, x, g->cg->t.i64, ""); }

/* A global element address: base + (row * ld + col) * es, in 64-bit arithmetic. */
static LLVMValueRef global_address(Gemm *g, LLVMValueRef base, LLVMValueRef row, LLVMValueRef ld,
                                   LLVMValueRef col, int es)
{
    LLVMValueRef i = LLVMBuildAdd(g->b, LLVMBuildMul(g->b, wide(g, row), wide(g, ld), ""),
                                  wide(g, col), "");
    if (es > 1)
        i = LLVMBuildMul(g->b, i, LLVMConstInt(g->cg->t.i64, (unsigned long long)es, 0), "");
    return nvvm_offset(g->cg, base, i);
}

/* base + index * bytes: element `index` of a vector of `bytes`-wide elements. */
static LLVMValueRef element_address(Gemm *g, LLVMValueRef base, LLVMValueRef index, int bytes)
{
    LLVMValueRef i = LLVMBuildMul(g->b, wide(g, index),
                                  LLVMConstInt(g->cg->t.i64, (unsigned long long)bytes, 0), "");
    return nvvm_offset(g->cg, base, i);
}

static LLVMValueRef fabs_f32(CodegenContext *cg, LLVMValueRef x)
{
    unsigned id = LLVMLookupIntrinsicID("llvm.fabs", 9);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->module, id, &cg->t.f32, 1);
    return LLVMBuildCall2(cg->builder, LLVMGlobalGetValueType(fn), fn, &x, 1, "");
}

/* Byte offset of 16-byte chunk `chunk` of row `row` in a swizzled tile: chunk ^= row % 8, so
   eight consecutive rows read at one logical chunk hit eight different bank groups. */
static LLVMValueRef swizzled_offset(Gemm *g, LLVMValueRef row, LLVMValueRef chunk, int row_bytes)
{
    LLVMValueRef phys = LLVMBuildXor(g->b, chunk, andi(g, row, 7), "");
    return add(g, muli(g, row, row_bytes), shli(g, phys, 4));
}

/* ---- global -> shared, asynchronously */

typedef struct TileCopy {
    LLVMValueRef base, ld;         /* global matrix and its row stride in elements */
    LLVMValueRef row0, row_limit;  /* first row of the tile; rows >= limit are zero-filled */
    LLVMValueRef col0, col_limit;  /* first column (elements); columns >= limit zero-filled */
    int rows, row_bytes;           /* the tile in shared memory */
    int tile_offset;               /* within a stage */
} TileCopy;

/* Thread t copies chunk t % cpr of rows t / cpr + j * (g->threads / cpr), j = 0, 1, ...: 8
   threads cover 128 contiguous bytes of a row (coalesced), and as the row step is a multiple
   of 8 the swizzle is the same for every j, so destinations differ by constants. A chunk past
   the matrix's edge reads only its valid bytes (cp.async's src-size) and zero-fills the rest.
   Offsets are 32-bit (tensors under 2^31 elements: the 64-bit variant is the emitter's). */
static void copy_tile_async(Gemm *g, const TileCopy *t, LLVMValueRef stage_offset)
{
    int chunks_per_row = t->row_bytes / 16;
    int rows_per_pass = g->threads / chunks_per_row;
    int passes = t->rows / rows_per_pass;
    int cb = g->spec->copy_bytes;
    NvvmCopyCache cache = cb == 16 ? COPY_CACHE_GLOBAL : COPY_CACHE_ALL;
    LLVMValueRef zero = c32(g, 0);
    LLVMValueRef r0 = LLVMBuildUDiv(g->b, g->tid, c32(g, chunks_per_row), "");
    LLVMValueRef chunk = LLVMBuildURem(g->b, g->tid, c32(g, chunks_per_row), "");
    LLVMValueRef dst0 = add(g, add(g, stage_offset, c32(g, t->tile_offset)),
                            swizzled_offset(g, r0, chunk, t->row_bytes));
    LLVMValueRef first_row = add(g, t->row0, r0);
    for (int s = 0; s < 16 / cb; s++) {
        LLVMValueRef col = add(g, t->col0, muli(g, chunk, 16 / g->es));
        col = addi(g, col, (long long)s * cb / g->es);
        LLVMValueRef left = muli(g, sub(g, t->col_limit, col), g->es);
        LLVMValueRef any = lt(g, zero, left);
        LLVMValueRef col_bytes = sel(g, any, min32(g, left, c32(g, cb)), zero);
        LLVMValueRef safe_col = sel(g, any, col, zero);
        for (int j = 0; j < passes; j++) {
            LLVMValueRef grow = addi(g, first_row, (long long)j * rows_per_pass);
            LLVMValueRef row_ok = lt(g, grow, t->row_limit);
            LLVMValueRef bytes = sel(g, row_ok, col_bytes, zero);
            LLVMValueRef index = add(g, mul(g, sel(g, row_ok, grow, zero), t->ld), safe_col);
            LLVMValueRef src = element_address(g, t->base, index, g->es);
            LLVMValueRef dst_off = addi(g, dst0, (long long)j * rows_per_pass * t->row_bytes + s * cb);
            nvvm_cp_async(g->cg, cache, cb, nvvm_offset(g->cg, g->smem, dst_off), src, bytes);
        }
    }
}

/* Stage `tile` of K (a run-time index) into ring slot tile % stages, one commit group. */
static void load_stage(Gemm *g, LLVMValueRef tile)
{
    LLVMValueRef slot = LLVMBuildURem(g->b, tile, c32(g, g->spec->stages), "");
    LLVMValueRef stage_offset = muli(g, slot, g->stage_bytes);
    LLVMValueRef k0 = muli(g, tile, g->bk);
    TileCopy a = {g->a, g->lda, g->m0, g->M, k0, g->K, BM, K_ROW_BYTES, 0};
    copy_tile_async(g, &a, stage_offset);
    TileCopy b;
    if (g->spec->b_k_major)
        b = (TileCopy){g->bmat, g->ldb, g->n0, g->N, k0, g->K, BN, K_ROW_BYTES, g->a_tile_bytes};
    else
        b = (TileCopy){g->bmat, g->ldb, k0, g->K, g->n0, g->N, g->bk, BN * g->es, g->a_tile_bytes};
    copy_tile_async(g, &b, stage_offset);
    nvvm_cp_async_commit(g->cg);
}

/* ---- shared -> registers -> tensor cores */

/* Each lane's ldmatrix row address for k-step 0 and the first 16-row/16-column block; the
   others are that offset XOR a constant (the swizzle flips chunk bits 0-2 and k-steps or
   n-pairs move bits 1-2 of the chunk) plus a constant. So a warp keeps one register per
   operand instead of one per (k-step, tile): the accumulators need the rest. */
typedef struct FragmentBase {
    LLVMValueRef a;  /* A: row wm·64 + l%16, chunk l/16 (x4 = a0..a3 of a 16x32-byte block) */
    LLVMValueRef b;  /* B: see load_b_fragments */
} FragmentBase;

static FragmentBase fragment_bases(Gemm *g)
{
    FragmentBase f;
    LLVMValueRef l7 = andi(g, g->lane, 7);
    LLVMValueRef a_row = add(g, muli(g, g->wm, g->wm_rows), andi(g, g->lane, 15));
    LLVMValueRef a_chunk = LLVMBuildXor(g->b, shri(g, g->lane, 4), l7, "");
    f.a = add(g, muli(g, a_row, K_ROW_BYTES), shli(g, a_chunk, 4));
    LLVMValueRef half = andi(g, shri(g, g->lane, 3), 1);
    if (g->spec->b_k_major) {
        /* row n = wn·64 + l%8 + 8(l/16), chunk (l/8)%2 */
        LLVMValueRef n = add(g, add(g, muli(g, g->wn, g->wn_cols), l7), shli(g, shri(g, g->lane, 4), 3));
        f.b = add(g, muli(g, n, K_ROW_BYTES), shli(g, LLVMBuildXor(g->b, half, l7, ""), 4));
    } else {
        /* .trans: row k = l%8 + 8((l/8)%2), chunk wn·8 + l/16 of the n-row */
        LLVMValueRef k = add(g, l7, shli(g, half, 3));
        LLVMValueRef phys = LLVMBuildXor(g->b, shri(g, g->lane, 4), l7, "");
        f.b = add(g, add(g, muli(g, k, g->b_row_bytes), muli(g, g->wn, g->wn_cols * g->es)), shli(g, phys, 4));
    }
    return f;
}

static LLVMValueRef xor_add(Gemm *g, LLVMValueRef base, int xor_bits, int plus)
{
    return addi(g, xor_bits ? LLVMBuildXor(g->b, base, c32(g, xor_bits), "") : base, plus);
}

/* A fragment of rows mi·16.. for k-step ks (32 bytes of K): one ldmatrix.x4. */
static void load_a_fragment(Gemm *g, LLVMValueRef stage, const FragmentBase *f, int ks, int mi,
                            LLVMValueRef a[4])
{
    LLVMValueRef off = xor_add(g, f->a, ks << 5, mi * 16 * K_ROW_BYTES);
    nvvm_ldmatrix(g->cg, 4, false, nvvm_offset(g->cg, stage, off), a);
}

/* B fragments for k-step ks, two n-tiles of 8 per ldmatrix.x4 (b0, b1 of each). K-major B
   ([N, K]) moves to n-pair p by 16 rows and to k-step ks by chunk 2ks; row-major B ([K, N],
   16-bit only, .trans) by n-chunk 2p and by 16 k-rows. */
static void load_b_fragments(Gemm *g, LLVMValueRef stage, const FragmentBase *f, int ks,
                             LLVMValueRef b[MAX_NJ][2])
{
    for (int p = 0; p < g->nj_count / 2; p++) {
        LLVMValueRef r[4], off;
        if (g->spec->b_k_major)
            off = xor_add(g, f->b, ks << 5, g->a_tile_bytes + p * 16 * K_ROW_BYTES);
        else
            off = xor_add(g, f->b, p << 5, g->a_tile_bytes + ks * 16 * g->b_row_bytes);
        nvvm_ldmatrix(g->cg, 4, !g->spec->b_k_major, nvvm_offset(g->cg, stage, off), r);
        b[2 * p][0] = r[0];
        b[2 * p][1] = r[1];
        b[2 * p + 1][0] = r[2];
        b[2 * p + 1][1] = r[3];
    }
}

/* One m16n8k32 fp8 step as two f16 m16n8k16 per n-tile; B comes widened (once per k-step,
   by the caller), A is widened here once for all n-tiles. */
static void widened_mma(Gemm *g, LLVMValueRef a[4], LLVMValueRef wb[MAX_NJ][2][2],
                        LLVMValueRef acc[MAX_NJ][4])
{
    LLVMValueRef wa[4][2];
    for (int i = 0; i < 4; i++)
        nvvm_widen_fp8x4(g->cg, g->spec->ab, a[i], wa[i]);
    for (int half = 0; half < 2; half++) {
        LLVMValueRef *r = wa[2 * half], *s = wa[2 * half + 1];
        LLVMValueRef a16[4] = {r[0], s[0], r[1], s[1]};
        for (int nj = 0; nj < g->nj_count; nj++)
            nvvm_mma_sync(g->cg, DT_F16, DT_F16, a16, wb[nj][half], acc[nj], acc[nj]);
    }
}

static void compute_stage(Gemm *g, const FragmentBase *f, LLVMValueRef tile,
                          LLVMValueRef acc[MAX_MI][MAX_NJ][4])
{
    LLVMValueRef slot = LLVMBuildURem(g->b, tile, c32(g, g->spec->stages), "");
    LLVMValueRef stage = nvvm_offset(g->cg, g->smem, muli(g, slot, g->stage_bytes));
    for (int ks = 0; ks < K_ROW_BYTES / 32; ks++) {
        LLVMValueRef bf[MAX_NJ][2];
        codegen_set_line(g->cg, LINE_DOT, 20);
        load_b_fragments(g, stage, f, ks, bf);
        LLVMValueRef wb[MAX_NJ][2][2];
        for (int nj = 0; g->spec->widen_fp8 && nj < g->nj_count; nj++)
            for (int half = 0; half < 2; half++)
                nvvm_widen_fp8x4(g->cg, g->spec->ab, bf[nj][half], wb[nj][half]);
        /* B stays in registers for the k-step, A one 16-row block at a time: fewer operands
           live at once (fp8 operands double in size when ptxas widens them to f16). */
        for (int mi = 0; mi < g->mi_count; mi++) {
            LLVMValueRef a[4];
            codegen_set_line(g->cg, LINE_DOT, 20);
            load_a_fragment(g, stage, f, ks, mi, a);
            codegen_set_line(g->cg, LINE_DOT, 24);
            if (g->spec->widen_fp8) {
                widened_mma(g, a, wb, acc[mi]);
                continue;
            }
            for (int nj = 0; nj < g->nj_count; nj++)
                nvvm_mma_sync(g->cg, g->spec->ab, g->spec->ab, a, bf[nj], acc[mi][nj],
                              acc[mi][nj]);
        }
    }
}

/* ---- the kernel */

/* Triton's grouped order: group_m block-rows share the B tiles they read while in L2. */
static void map_block(Gemm *g)
{
    codegen_set_line(g->cg, LINE_GRID, 5);
    LLVMValueRef pid = nvvm_block_id(g->cg, DIM_X);
    LLVMValueRef pid_m_count = LLVMBuildUDiv(g->b, addi(g, g->M, BM - 1), c32(g, BM), "");
    LLVMValueRef pid_n_count = LLVMBuildUDiv(g->b, addi(g, g->N, BN - 1), c32(g, BN), "");
    LLVMValueRef in_group = muli(g, pid_n_count, g->spec->group_m);
    LLVMValueRef group = LLVMBuildUDiv(g->b, pid, in_group, "");
    LLVMValueRef first_m = muli(g, group, g->spec->group_m);
    LLVMValueRef group_rows = min32(g, sub(g, pid_m_count, first_m), c32(g, g->spec->group_m));
    LLVMValueRef within = LLVMBuildURem(g->b, pid, in_group, "");
    LLVMValueRef pid_m = add(g, first_m, LLVMBuildURem(g->b, within, group_rows, ""));
    LLVMValueRef pid_n = LLVMBuildUDiv(g->b, within, group_rows, "");
    g->m0 = muli(g, pid_m, BM);
    g->n0 = muli(g, pid_n, BN);
}

/* bf16 out: each thread holds rows g and g+8, columns 2t and 2t+1 of every 16x8 tile; one
   predicated 4-byte store per pair (N and ldc even). */
static void store_c(Gemm *g, LLVMValueRef acc[MAX_MI][MAX_NJ][4])
{
    codegen_set_line(g->cg, LINE_STORE, 17);
    LLVMValueRef quad_row = shri(g, g->lane, 2), quad_col = shli(g, andi(g, g->lane, 3), 1);
    for (int mi = 0; mi < g->mi_count; mi++)
        for (int nj = 0; nj < g->nj_count; nj++)
            for (int h = 0; h < 2; h++) {
                LLVMValueRef row = add(g, add(g, g->m0, muli(g, g->wm, g->wm_rows)),
                                       addi(g, quad_row, mi * 16 + h * 8));
                LLVMValueRef col = add(g, add(g, g->n0, muli(g, g->wn, g->wn_cols)),
                                       addi(g, quad_col, nj * 8));
                LLVMValueRef ok = LLVMBuildAnd(g->b, lt(g, row, g->M), lt(g, col, g->N), "");
                LLVMValueRef word = nvvm_pack_bf16x2(g->cg, acc[mi][nj][2 * h],
                                                     acc[mi][nj][2 * h + 1]);
                LLVMValueRef ptr = global_address(g, g->c, row, g->ldc, col, 2);
                nvvm_store_global_predicated(g->cg, ptr, ok, 1, &word);
            }
}

/* Declares (a, b, c, M, N, K, lda, ldb, ldc) and builds the 2..S-stage cp.async pipeline:
   prologue loads S-1 tiles; iteration kt waits for tile kt, syncs, issues tile kt+S-1 into
   the slot freed by iteration kt-1, then runs its mmas. */
static void build_gemm(CodegenContext *cg, const GemmSpec *spec)
{
    Gemm g = {.cg = cg, .b = cg->builder, .spec = spec};
    g.es = dtype_is_fp8(spec->ab) ? 1 : 2;
    g.bk = K_ROW_BYTES / g.es;
    g.a_tile_bytes = BM * K_ROW_BYTES;
    g.b_row_bytes = spec->b_k_major ? K_ROW_BYTES : BN * g.es;
    g.b_tile_bytes = spec->b_k_major ? BN * K_ROW_BYTES : g.bk * BN * g.es;
    g.stage_bytes = g.a_tile_bytes + g.b_tile_bytes;
    g.threads = 32 * spec->warps_m * spec->warps_n;
    g.wm_rows = BM / spec->warps_m;
    g.wn_cols = BN / spec->warps_n;
    g.mi_count = g.wm_rows / 16;
    g.nj_count = g.wn_cols / 8;
    if (g.mi_count > MAX_MI || g.nj_count > MAX_NJ || g.nj_count % 2) {
        fprintf(stderr, "mma_probe: %s: a warp tile of %dx%d is not supported\n", spec->name,
                g.wm_rows, g.wn_cols);
        exit(2);
    }

    LLVMTypeRef gp = cg->t.ptr_global, i32 = cg->t.i32;
    LLVMTypeRef params[9] = {gp, gp, gp, i32, i32, i32, i32, i32, i32};
    KernelBounds bounds = {.max_threads = g.threads, .min_blocks_per_sm = 1};
    LLVMValueRef fn = codegen_kernel_begin(cg, spec->name, params, 9, &bounds, true, LINE_KERNEL);
    LLVMValueRef *slots[9] = {&g.a, &g.bmat, &g.c, &g.M, &g.N, &g.K, &g.lda, &g.ldb, &g.ldc};
    for (unsigned i = 0; i < 9; i++)
        *slots[i] = LLVMGetParam(fn, i);
    char smem_name[96];
    snprintf(smem_name, sizeof smem_name, "%s_smem", spec->name);
    g.smem = nvvm_dynamic_shared(cg, smem_name, 128);

    g.tid = nvvm_thread_id(cg, DIM_X);
    g.lane = andi(&g, g.tid, 31);
    LLVMValueRef warp = nvvm_warp_index(cg);
    g.wm = LLVMBuildUDiv(g.b, warp, c32(&g, spec->warps_n), "");
    g.wn = LLVMBuildURem(g.b, warp, c32(&g, spec->warps_n), "");
    map_block(&g);
    FragmentBase frag = fragment_bases(&g);

    codegen_set_line(cg, LINE_K_LOOP, 9);
    LLVMValueRef tiles = LLVMBuildUDiv(g.b, addi(&g, g.K, g.bk - 1), c32(&g, g.bk), "ktiles");
    for (int s = 0; s < spec->stages - 1; s++)
        load_stage(&g, c32(&g, s));

    LLVMBasicBlockRef entry = LLVMGetInsertBlock(g.b);
    LLVMBasicBlockRef header = codegen_block(cg, "k.header");
    LLVMBasicBlockRef body = codegen_block(cg, "k.body");
    LLVMBasicBlockRef exit = codegen_block(cg, "k.exit");
    LLVMBuildBr(g.b, header);

    LLVMPositionBuilderAtEnd(g.b, header);
    codegen_set_line(cg, LINE_ZEROS, 9);
    LLVMValueRef kt = LLVMBuildPhi(g.b, i32, "kt");
    LLVMValueRef acc_phi[MAX_MI][MAX_NJ][4], acc[MAX_MI][MAX_NJ][4];
    LLVMValueRef zero_f = LLVMConstReal(cg->t.f32, 0.0);
    for (int mi = 0; mi < g.mi_count; mi++)
        for (int nj = 0; nj < g.nj_count; nj++)
            for (int r = 0; r < 4; r++) {
                acc_phi[mi][nj][r] = LLVMBuildPhi(g.b, cg->t.f32, "acc");
                LLVMAddIncoming(acc_phi[mi][nj][r], &zero_f, &entry, 1);
                acc[mi][nj][r] = acc_phi[mi][nj][r];
            }
    LLVMValueRef zero = c32(&g, 0);
    LLVMAddIncoming(kt, &zero, &entry, 1);
    codegen_set_line(cg, LINE_K_LOOP, 9);
    LLVMBuildCondBr(g.b, LLVMBuildICmp(g.b, LLVMIntULT, kt, tiles, ""), body, exit);

    LLVMPositionBuilderAtEnd(g.b, body);
    codegen_set_line(cg, LINE_DOT, 20);
    nvvm_cp_async_wait(cg, spec->stages - 2);
    nvvm_barrier(cg);
    load_stage(&g, addi(&g, kt, spec->stages - 1));
    compute_stage(&g, &frag, kt, acc);
    codegen_set_line(cg, LINE_K_LOOP, 9);
    LLVMValueRef next = addi(&g, kt, 1);
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(g.b);
    LLVMAddIncoming(kt, &next, &latch, 1);
    for (int mi = 0; mi < g.mi_count; mi++)
        for (int nj = 0; nj < g.nj_count; nj++)
            for (int r = 0; r < 4; r++)
                LLVMAddIncoming(acc_phi[mi][nj][r], &acc[mi][nj][r], &latch, 1);
    LLVMBuildBr(g.b, header);

    LLVMPositionBuilderAtEnd(g.b, exit);
    nvvm_cp_async_wait(cg, 0); /* no copy may land after the block exits */
    store_c(&g, acc_phi);
    codegen_kernel_end(cg);
}

/* ---- self-test of the small emitters (bench/probe_gemm checks its outputs on the GPU) */

/* nvvm_selftest(x: f32[n], fp8: u32[n/2], unpacked: f32[n], bf16: u32[n/2], math: f32[4·n/2],
   warp_sum: f32[n/2], amax: f32[2], n): thread p owns x[2p], x[2p+1]. fp8[p] holds the e4m3
   pair in bits 0-15 and the e5m2 pair in 16-31; unpacked is the e4m3 pair read back; math is
   ex2(x0), ex2(x1), lg2(|x0|), rsqrt(|x0|); warp_sum sums x0 over the warp by shfl.xor;
   amax[0] = max(x), amax[1] = max(-|x|) by the atomic (set to -inf first). */
static void build_selftest(CodegenContext *cg)
{
    LLVMTypeRef gp = cg->t.ptr_global;
    LLVMTypeRef params[8] = {gp, gp, gp, gp, gp, gp, gp, cg->t.i32};
    LLVMValueRef fn = codegen_kernel_begin(cg, "nvvm_selftest", params, 8, NULL, false, 20);
    Gemm g = {.cg = cg, .b = cg->builder};
    LLVMValueRef x = LLVMGetParam(fn, 0), fp8 = LLVMGetParam(fn, 1);
    LLVMValueRef unpacked = LLVMGetParam(fn, 2), bf16 = LLVMGetParam(fn, 3);
    LLVMValueRef math = LLVMGetParam(fn, 4), warp_sum = LLVMGetParam(fn, 5);
    LLVMValueRef amax = LLVMGetParam(fn, 6), n = LLVMGetParam(fn, 7);
    LLVMValueRef p = add(&g, mul(&g, nvvm_block_id(cg, DIM_X), nvvm_block_dim(cg, DIM_X)),
                         nvvm_thread_id(cg, DIM_X));
    LLVMValueRef ok = lt(&g, addi(&g, shli(&g, p, 1), 1), n);
    LLVMValueRef words[4], f[2];
    nvvm_load_global_predicated(cg, element_address(&g, x, p, 8), ok, 2, words);
    for (int i = 0; i < 2; i++)
        f[i] = LLVMBuildBitCast(g.b, words[i], cg->t.f32, "");

    /* fp8 conversions need sm_89+: LLVM's instruction selection would abort the process on
       sm_80, so the emitter must ask nvvm_mma_supported first (the selftest skips them). */
    if (nvvm_mma_supported(cg->target, DT_F8E4M3)) {
        LLVMValueRef e4 = nvvm_pack_fp8x2(cg, DT_F8E4M3, f[0], f[1]);
        LLVMValueRef e5 = nvvm_pack_fp8x2(cg, DT_F8E5M2, f[0], f[1]);
        LLVMValueRef both = LLVMBuildOr(g.b, LLVMBuildZExt(g.b, e4, cg->t.i32, ""),
                                        shli(&g, LLVMBuildZExt(g.b, e5, cg->t.i32, ""), 16), "");
        nvvm_store_global_predicated(cg, element_address(&g, fp8, p, 4), ok, 1, &both);
        LLVMValueRef back[2];
        nvvm_unpack_fp8x2(cg, DT_F8E4M3, e4, back);
        for (int i = 0; i < 2; i++)
            words[i] = LLVMBuildBitCast(g.b, back[i], cg->t.i32, "");
        nvvm_store_global_predicated(cg, element_address(&g, unpacked, p, 8), ok, 2, words);
    }

    LLVMValueRef packed = nvvm_pack_bf16x2(cg, f[0], f[1]);
    nvvm_store_global_predicated(cg, element_address(&g, bf16, p, 4), ok, 1,
                                 &packed);

    LLVMValueRef abs0 = fabs_f32(cg, f[0]);
    LLVMValueRef m[4] = {nvvm_ex2_approx(cg, f[0]), nvvm_ex2_approx(cg, f[1]),
                         nvvm_lg2_approx(cg, abs0), nvvm_rsqrt_approx(cg, abs0)};
    for (int i = 0; i < 4; i++)
        words[i] = LLVMBuildBitCast(g.b, m[i], cg->t.i32, "");
    nvvm_store_global_predicated(cg, element_address(&g, math, p, 16), ok, 4, words);

    LLVMValueRef sum = f[0];
    for (int mask = 16; mask >= 1; mask /= 2)
        sum = LLVMBuildFAdd(g.b, sum, nvvm_shfl_xor(cg, sum, mask), "");
    LLVMValueRef sum_word = LLVMBuildBitCast(g.b, sum, cg->t.i32, "");
    nvvm_store_global_predicated(cg, element_address(&g, warp_sum, p, 4), ok, 1,
                                 &sum_word);

    LLVMBasicBlockRef atomics = codegen_block(cg, "atomics"), done = codegen_block(cg, "done");
    LLVMBuildCondBr(g.b, ok, atomics, done);
    LLVMPositionBuilderAtEnd(g.b, atomics);
    LLVMValueRef hi = sel(&g, LLVMBuildFCmp(g.b, LLVMRealOGT, f[0], f[1], ""), f[0], f[1]);
    nvvm_atomic_max_f32(cg, amax, hi);
    LLVMValueRef neg = LLVMBuildFNeg(g.b, abs0, "");
    nvvm_atomic_max_f32(cg, nvvm_offset(cg, amax, LLVMConstInt(cg->t.i64, 4, 0)), neg);
    LLVMBuildBr(g.b, done);
    LLVMPositionBuilderAtEnd(g.b, done);
    codegen_kernel_end(cg);
}

static const GemmSpec *gemm_specs(int stages, int *count)
{
    static GemmSpec specs[] = {
        /* bf16: 4 warps, 64x64 each; A[M,K] · B[K,N] through ldmatrix.trans, or B[N,K]ᵀ */
        {"gemm_bf16", DT_BF16, false, 2, 16, 8, 2, 2, false},
        {"gemm_bf16_nt", DT_BF16, true, 2, 16, 8, 2, 2, false},
        /* fp8 A[M,K] · B[N,K]ᵀ: 8 warps, 32x64 each — on sm_90 ptxas widens fp8 operands to
           f16 for two HMMAs per mma, which leaves a 64x64 warp tile short of registers. */
        {"gemm_e4m3", DT_F8E4M3, true, 2, 16, 8, 4, 2, false},
        {"gemm_e4m3_ca8", DT_F8E4M3, true, 2, 8, 8, 4, 2, false}, /* rows only 8-byte aligned */
        {"gemm_e5m2", DT_F8E5M2, true, 2, 16, 8, 4, 2, false},
        /* fp8 widened to f16 by us, once per fragment: the register cost under our control */
        {"gemm_e4m3_f16", DT_F8E4M3, true, 2, 16, 8, 2, 2, true},
    };
    int n = (int)(sizeof specs / sizeof specs[0]);
    for (int i = 0; i < n; i++)
        specs[i].stages = stages;
    *count = n;
    return specs;
}

int main(int argc, char **argv)
{
    bool emit_llvm = false, line_info = true;
    int stages = 2;
    const char *target_name = "sm_90a";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--emit=llvm") == 0)
            emit_llvm = true;
        else if (strcmp(argv[i], "--emit=ptx") == 0)
            emit_llvm = false;
        else if (strcmp(argv[i], "--no-lineinfo") == 0)
            line_info = false;
        else if (strcmp(argv[i], "--stages") == 0 && i + 1 < argc)
            stages = atoi(argv[++i]);
        else if (strcmp(argv[i], "--target") == 0 && i + 1 < argc)
            target_name = argv[++i];
        else {
            fprintf(stderr, "usage: mma_probe [--emit=ptx|llvm] [--stages N] [--target T] "
                            "[--no-lineinfo]\n");
            return 2;
        }
    }
    const Target *target = target_lookup(target_name);
    if (!target || stages < 2 || stages > 6) {
        fprintf(stderr, "mma_probe: error: need a target in {%s} and 2 <= stages <= 6\n",
                target_names());
        return 2;
    }
    CodegenContext cg;
    if (!codegen_context_init(&cg, target, "mma_probe", line_info ? "mma_probe.tile" : NULL)) {
        fprintf(stderr, "mma_probe: error: %s\n", cg.error);
        return 1;
    }
    int count;
    const GemmSpec *specs = gemm_specs(stages, &count);
    for (int i = 0; i < count; i++)
        if (nvvm_mma_supported(target, specs[i].ab))
            build_gemm(&cg, &specs[i]);
    build_selftest(&cg);

    Arena arena = {0};
    int status = 0;
    char *text = NULL;
    if (emit_llvm)
        text = codegen_verify(&cg) ? codegen_emit_llvm(&cg, &arena) : NULL;
    else
        text = codegen_compile_ptx(&cg, &arena);
    if (text)
        fputs(text, stdout);
    else {
        fprintf(stderr, "mma_probe: error: %s\n", cg.error);
        status = 1;
    }
    arena_free(&arena);
    codegen_context_dispose(&cg);
    return status;
}
