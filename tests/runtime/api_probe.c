/* api_probe.c — calls one libtile entry point with a NULL, out-of-range or unusual argument
   and prints the status it returned and its message, so the reliability suite
   (tests/reliability/cases_runtime.py) can tell a status from a crash or a hang.
   usage: api_probe CASE [PATH [SIGNATURE]]   (launch cases need the stub libcuda.so.1) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tile.h"

static int report(tile_context *ctx, tile_status s)
{
    printf("%s: %s\n", tile_status_string(s), tile_error_message(ctx));
    return 0;
}

static tile_context *open_context(void)
{
    tile_context *ctx = NULL;
    tile_context_create(&ctx, NULL);   /* TILE_ERR_NO_DEVICE still gives a context */
    if (!ctx) {
        printf("no context\n");
        exit(1);
    }
    return ctx;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    const char *path = argc > 2 ? argv[2] : NULL;
    if (strcmp(what, "context_create_null") == 0) {
        tile_status s = tile_context_create(NULL, NULL);
        printf("%s\n", tile_status_string(s));
        return 0;
    }
    if (strcmp(what, "set_checking_null") == 0) {
        tile_context_set_checking(NULL, true);
        printf("returned\n");
        return 0;
    }
    tile_context *ctx = open_context();
    int rc = 0;
    if (strcmp(what, "load_file") == 0 && path) {
        tile_bundle *b = NULL;
        rc = report(ctx, tile_bundle_load_file(ctx, path, &b));
        tile_bundle_free(b);
    } else if (strcmp(what, "launch_values_null") == 0 && path && argc > 3) {
        /* kernel 0 of the bundle with every array of tile_launch_values NULL */
        tile_bundle *b = NULL;
        tile_status s = tile_bundle_load_file(ctx, path, &b);
        if (s != TILE_OK)
            rc = report(ctx, s) + 1;
        else {
            tile_launch_values values = {0};
            uint64_t signature = strtoull(argv[3], NULL, 16);
            rc = report(ctx, tile_launch_values_at(ctx, b, 0, signature, &values, NULL));
        }
        tile_bundle_free(b);
    } else if (strcmp(what, "bundle_other_context") == 0 && path) {
        /* a bundle loaded by one context, launched and preloaded through another */
        tile_bundle *b = NULL;
        tile_status s = tile_bundle_load_file(ctx, path, &b);
        tile_context *other = open_context();
        if (s != TILE_OK)
            rc = report(ctx, s) + 1;
        else {
            report(other, tile_launch(other, b, tile_bundle_kernel_name(b, 0), NULL, 0, NULL));
            rc = report(other, tile_bundle_preload(other, b));
        }
        tile_bundle_free(b);
        tile_context_destroy(other);
    } else {
        printf("usage: api_probe context_create_null|set_checking_null|load_file PATH|"
               "launch_values_null BUNDLE SIGNATURE|bundle_other_context BUNDLE\n");
        rc = 2;
    }
    tile_context_destroy(ctx);
    return rc;
}
