/* npy_tool.c — a thin command over npy.c and the host tensors for tests/npy/check_npy.py.
     npy_tool load DTYPE FILE                 print the loaded tensor (format below)
     npy_tool save DTYPE IN OUT [--transpose] load IN as DTYPE, optionally reverse the
                                              axes (a strided view), save to OUT
     npy_tool random DTYPE SEED OUT DIM...     host_fill_random into a new tensor, save
   Errors go to stderr as "npy_tool: MESSAGE" with exit status 1. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"

enum { ERR_LEN = 512 };

static void print_int64_list(const char *label, int n, const int64_t *v)
{
    printf("%s", label);
    for (int i = 0; i < n; i++)
        printf(" %" PRId64, v[i]);
    printf("\n");
}

static void print_value(const HostTensor *t, int64_t offset)
{
    if (t->dtype == DT_I64) /* exact beyond 2^53, unlike host_get_at */
        printf(" %" PRId64, (int64_t)host_get_raw_at(t, offset));
    else if (dtype_is_float(t->dtype))
        printf(" %a", host_get_at(t, offset));
    else
        printf(" %.0f", host_get_at(t, offset));
}

/* Header lines, the values in C index order, then the raw storage in memory order. */
static void print_tensor(const HostTensor *t)
{
    int64_t numel = host_numel(t);
    printf("dtype %s\nrank %d\n", dtype_name(t->dtype), t->rank);
    print_int64_list("shape", t->rank, t->shape);
    print_int64_list("strides", t->rank, t->strides);
    printf("values");
    int64_t index[HOST_MAX_RANK] = {0};
    if (numel > 0) {
        do {
            print_value(t, host_offset(t, index));
        } while (host_next_index(t->rank, t->shape, index));
    }
    printf("\nraw");
    for (int64_t i = 0; i < numel; i++)
        printf(" %" PRIx64, host_get_raw_at(t, i));
    printf("\n");
}

static void reverse_axes(HostTensor *t)
{
    for (int i = 0, j = t->rank - 1; i < j; i++, j--) {
        int64_t shape = t->shape[i], stride = t->strides[i];
        t->shape[i] = t->shape[j];
        t->strides[i] = t->strides[j];
        t->shape[j] = shape;
        t->strides[j] = stride;
    }
}

static int fail(const char *message)
{
    fprintf(stderr, "npy_tool: %s\n", message);
    return 1;
}

static int command_load(DType dtype, const char *path)
{
    char err[ERR_LEN];
    HostTensor t;
    if (npy_load(path, dtype, &t, err, sizeof err) != 0)
        return fail(err);
    print_tensor(&t);
    host_free(&t);
    return 0;
}

static int command_save(DType dtype, const char *in, const char *out, bool transpose)
{
    char err[ERR_LEN];
    HostTensor t;
    if (npy_load(in, dtype, &t, err, sizeof err) != 0)
        return fail(err);
    if (transpose)
        reverse_axes(&t);
    int rc = npy_save(out, &t, err, sizeof err) == 0 ? 0 : fail(err);
    host_free(&t);
    return rc;
}

static int command_random(DType dtype, const char *seed, const char *out, int rank,
                          char **dims)
{
    if (rank > HOST_MAX_RANK)
        return fail("too many dimensions");
    int64_t shape[HOST_MAX_RANK];
    for (int i = 0; i < rank; i++)
        shape[i] = strtoll(dims[i], NULL, 10);
    HostTensor t;
    if (host_alloc(&t, dtype, rank, shape) != 0)
        return fail("bad shape");
    host_fill_random(&t, strtoull(seed, NULL, 10), 0);
    char err[ERR_LEN];
    int rc = npy_save(out, &t, err, sizeof err) == 0 ? 0 : fail(err);
    host_free(&t);
    return rc;
}

int main(int argc, char **argv)
{
    DType dtype;
    if (argc < 4)
        return fail("usage: npy_tool load|save|random DTYPE ...");
    if (!dtype_from_name(argv[2], &dtype))
        return fail("unknown dtype");
    if (strcmp(argv[1], "load") == 0 && argc == 4)
        return command_load(dtype, argv[3]);
    if (strcmp(argv[1], "save") == 0 && (argc == 5 || argc == 6))
        return command_save(dtype, argv[3], argv[4],
                            argc == 6 && strcmp(argv[5], "--transpose") == 0);
    if (strcmp(argv[1], "random") == 0 && argc >= 5)
        return command_random(dtype, argv[3], argv[4], argc - 5, argv + 5);
    return fail("usage: npy_tool load|save|random DTYPE ...");
}
