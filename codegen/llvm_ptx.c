/* llvm_ptx.c — the LLVM-C pipeline under codegen: a module for nvptx64-nvidia-cuda, kernels
   with their launch-bound attributes and line info, verification, the O3 pipeline and PTX
   text. Everything hangs off a CodegenContext, so several compiles can run on threads. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Support.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "codegen.h"

static const char nvptx_triple[] = "nvptx64-nvidia-cuda";

static pthread_once_t nvptx_once = PTHREAD_ONCE_INIT;

/* LLVM's target registry and options are process-wide: set once, before any context.
   -nvptx-short-ptr makes shared-memory pointers 32-bit (the window is 228 KB), which saves a
   register per hoisted shared address in mma loops; Triton sets it too. */
static void register_nvptx(void)
{
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
    const char *args[] = {"tilec", "-nvptx-short-ptr"};
    LLVMParseCommandLineOptions(2, args, NULL);
}

static bool fail(CodegenContext *cg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool fail(CodegenContext *cg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cg->error, sizeof cg->error, fmt, ap);
    va_end(ap);
    return false;
}

/* Takes an LLVM-owned message into cg->error, dropping a trailing newline. */
static bool fail_with_message(CodegenContext *cg, const char *what, char *message)
{
    size_t n = message ? strlen(message) : 0;
    while (n > 0 && message[n - 1] == '\n')
        n--;
    fail(cg, "%s: %.*s", what, (int)n, message ? message : "");
    LLVMDisposeMessage(message);
    return false;
}

static void make_types(CodegenContext *cg)
{
    LLVMContextRef c = cg->llvm;
    CodegenTypes *t = &cg->t;
    t->void_ = LLVMVoidTypeInContext(c);
    t->i1 = LLVMInt1TypeInContext(c);
    t->i8 = LLVMInt8TypeInContext(c);
    t->i16 = LLVMInt16TypeInContext(c);
    t->i32 = LLVMInt32TypeInContext(c);
    t->i64 = LLVMInt64TypeInContext(c);
    t->f16 = LLVMHalfTypeInContext(c);
    t->bf16 = LLVMBFloatTypeInContext(c);
    t->f32 = LLVMFloatTypeInContext(c);
    t->half2 = LLVMVectorType(t->f16, 2);
    t->bfloat2 = LLVMVectorType(t->bf16, 2);
    t->ptr = LLVMPointerTypeInContext(c, 0);
    t->ptr_global = LLVMPointerTypeInContext(c, ADDRSPACE_GLOBAL);
    t->ptr_shared = LLVMPointerTypeInContext(c, ADDRSPACE_SHARED);
}

static void add_module_flag(CodegenContext *cg, const char *key, unsigned value)
{
    LLVMMetadataRef md = LLVMValueAsMetadata(LLVMConstInt(cg->t.i32, value, 0));
    LLVMAddModuleFlag(cg->module, LLVMModuleFlagBehaviorWarning, key, strlen(key), md);
}

/* DICompileUnit::DebugDirectivesOnly, which the C enum lacks (LLVMDIBuilderCreateCompileUnit
   casts the value straight to the C++ enum): .file/.loc directives and no DWARF sections, so
   the PTX target stays `sm_90a` rather than `sm_90a, debug` (which would ask the JIT for a
   debug build) — what clang emits for CUDA's -lineinfo. */
#define DWARF_EMISSION_DIRECTIVES_ONLY ((LLVMDWARFEmissionKind)3)

/* Line directives only: enough for profilers and sanitizers to name .tile lines. */
static void make_line_info(CodegenContext *cg, const char *source_path)
{
    const char *slash = strrchr(source_path, '/');
    const char *name = slash ? slash + 1 : source_path;
    size_t dir_len = slash ? (size_t)(slash - source_path) : 1;
    const char *dir = slash ? source_path : ".";
    cg->di = LLVMCreateDIBuilder(cg->module);
    cg->di_file = LLVMDIBuilderCreateFile(cg->di, name, strlen(name), dir, dir_len);
    static const char producer[] = "tilec";
    cg->di_unit = LLVMDIBuilderCreateCompileUnit(
        cg->di, LLVMDWARFSourceLanguageC99, cg->di_file, producer, sizeof producer - 1, 1, "", 0,
        0, "", 0, DWARF_EMISSION_DIRECTIVES_ONLY, 0, 0, 0, "", 0, "", 0);
    add_module_flag(cg, "Debug Info Version", LLVMDebugMetadataVersion());
    add_module_flag(cg, "Dwarf Version", 2);
}

bool codegen_context_init(CodegenContext *cg, const Target *target, const char *module_name,
                          const char *source_path)
{
    memset(cg, 0, sizeof *cg);
    cg->target = target;
    pthread_once(&nvptx_once, register_nvptx);
    LLVMTargetRef llvm_target = NULL;
    char *message = NULL;
    if (LLVMGetTargetFromTriple(nvptx_triple, &llvm_target, &message))
        return fail_with_message(cg, "the NVPTX backend is not available", message);
    cg->machine = LLVMCreateTargetMachine(llvm_target, nvptx_triple, target->name,
                                          target->features, LLVMCodeGenLevelAggressive,
                                          LLVMRelocDefault, LLVMCodeModelDefault);
    if (!cg->machine)
        return fail(cg, "cannot make a target machine for %s (%s)", target->name,
                    target->features);
    cg->llvm = LLVMContextCreate();
    make_types(cg);
    cg->module = LLVMModuleCreateWithNameInContext(module_name, cg->llvm);
    LLVMSetTarget(cg->module, nvptx_triple);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(cg->machine);
    LLVMSetModuleDataLayout(cg->module, layout);
    LLVMDisposeTargetData(layout);
    cg->builder = LLVMCreateBuilderInContext(cg->llvm);
    if (source_path)
        make_line_info(cg, source_path);
    return true;
}

void codegen_context_dispose(CodegenContext *cg)
{
    if (cg->di)
        LLVMDisposeDIBuilder(cg->di);
    if (cg->builder)
        LLVMDisposeBuilder(cg->builder);
    if (cg->module)
        LLVMDisposeModule(cg->module);
    if (cg->llvm)
        LLVMContextDispose(cg->llvm);
    if (cg->machine)
        LLVMDisposeTargetMachine(cg->machine);
    memset(cg, 0, sizeof *cg);
}

static void add_string_attribute(CodegenContext *cg, LLVMValueRef fn, const char *key, int value)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%d", value);
    LLVMAttributeRef a = LLVMCreateStringAttribute(cg->llvm, key, (unsigned)strlen(key), text,
                                                   (unsigned)n);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, a);
}

static void add_enum_attribute(CodegenContext *cg, LLVMValueRef fn, unsigned index,
                               const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, index, LLVMCreateEnumAttribute(cg->llvm, kind, 0));
}

static void attach_subprogram(CodegenContext *cg, LLVMValueRef fn, const char *name, int line)
{
    LLVMMetadataRef type = LLVMDIBuilderCreateSubroutineType(cg->di, cg->di_file, NULL, 0,
                                                             LLVMDIFlagZero);
    cg->di_scope = LLVMDIBuilderCreateFunction(cg->di, cg->di_file, name, strlen(name), name,
                                               strlen(name), cg->di_file, (unsigned)line, type,
                                               0, 1, (unsigned)line, LLVMDIFlagZero, 1);
    LLVMSetSubprogram(fn, cg->di_scope);
}

LLVMValueRef codegen_kernel_begin(CodegenContext *cg, const char *name, LLVMTypeRef *params,
                                  int nparams, const KernelBounds *bounds, bool noalias_pointers,
                                  int line)
{
    LLVMTypeRef type = LLVMFunctionType(cg->t.void_, params, (unsigned)nparams, 0);
    LLVMValueRef fn = LLVMAddFunction(cg->module, name, type);
    LLVMSetFunctionCallConv(fn, CALLCONV_PTX_KERNEL);
    if (bounds) {
        if (bounds->max_threads)
            add_string_attribute(cg, fn, "nvvm.maxntid", bounds->max_threads);
        if (bounds->required_threads)
            add_string_attribute(cg, fn, "nvvm.reqntid", bounds->required_threads);
        if (bounds->min_blocks_per_sm)
            add_string_attribute(cg, fn, "nvvm.minctasm", bounds->min_blocks_per_sm);
        if (bounds->max_registers)
            add_string_attribute(cg, fn, "nvvm.maxnreg", bounds->max_registers);
    }
    add_enum_attribute(cg, fn, LLVMAttributeFunctionIndex, "nounwind");
    for (int i = 0; i < nparams; i++)
        if (noalias_pointers && LLVMGetTypeKind(params[i]) == LLVMPointerTypeKind)
            add_enum_attribute(cg, fn, (unsigned)i + 1, "noalias");
    cg->function = fn;
    cg->di_scope = NULL;
    if (cg->di)
        attach_subprogram(cg, fn, name, line);
    LLVMPositionBuilderAtEnd(cg->builder, LLVMAppendBasicBlockInContext(cg->llvm, fn, "entry"));
    codegen_set_line(cg, line, 1);
    return fn;
}

void codegen_param_grid_constant(CodegenContext *cg, LLVMValueRef fn, int index, unsigned bytes,
                                 unsigned align)
{
    unsigned at = (unsigned)index + 1;
    unsigned byval = LLVMGetEnumAttributeKindForName("byval", 5);
    LLVMAddAttributeAtIndex(fn, at, LLVMCreateTypeAttribute(cg->llvm, byval,
                                                             LLVMArrayType2(cg->t.i8, bytes)));
    unsigned alignment = LLVMGetEnumAttributeKindForName("align", 5);
    LLVMAddAttributeAtIndex(fn, at, LLVMCreateEnumAttribute(cg->llvm, alignment, align));
    static const char grid_constant[] = "nvvm.grid_constant";
    LLVMAddAttributeAtIndex(fn, at, LLVMCreateStringAttribute(cg->llvm, grid_constant,
                                                               sizeof grid_constant - 1, "", 0));
}

void codegen_kernel_end(CodegenContext *cg)
{
    LLVMBuildRetVoid(cg->builder);
    if (cg->di && cg->di_scope)
        LLVMDIBuilderFinalizeSubprogram(cg->di, cg->di_scope);
}

LLVMBasicBlockRef codegen_block(CodegenContext *cg, const char *name)
{
    return LLVMAppendBasicBlockInContext(cg->llvm, cg->function, name);
}

void codegen_set_line(CodegenContext *cg, int line, int col)
{
    if (!cg->di || !cg->di_scope)
        return;
    LLVMMetadataRef loc = LLVMDIBuilderCreateDebugLocation(cg->llvm, (unsigned)line,
                                                           (unsigned)col, cg->di_scope, NULL);
    LLVMSetCurrentDebugLocation2(cg->builder, loc);
}

bool codegen_verify(CodegenContext *cg)
{
    if (cg->di && !cg->finalized)
        LLVMDIBuilderFinalize(cg->di);
    cg->finalized = true;
    char *message = NULL;
    if (LLVMVerifyModule(cg->module, LLVMReturnStatusAction, &message))
        return fail_with_message(cg, "the LLVM module is invalid", message);
    LLVMDisposeMessage(message);
    return true;
}

bool codegen_optimize(CodegenContext *cg, const char *pipeline)
{
    LLVMPassBuilderOptionsRef options = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(options, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(options, 1);
    LLVMPassBuilderOptionsSetLoopUnrolling(options, 1);
    LLVMErrorRef err = LLVMRunPasses(cg->module, pipeline, cg->machine, options);
    LLVMDisposePassBuilderOptions(options);
    if (err)
        return fail_with_message(cg, pipeline, LLVMGetErrorMessage(err));
    return true;
}

/* Copies an LLVM-owned string into the arena. */
static char *arena_copy_message(Arena *arena, char *message)
{
    char *copy = arena_strdup(arena, message);
    LLVMDisposeMessage(message);
    return copy;
}

char *codegen_emit_llvm(CodegenContext *cg, Arena *arena)
{
    return arena_copy_message(arena, LLVMPrintModuleToString(cg->module));
}

char *codegen_emit_ptx(CodegenContext *cg, Arena *arena)
{
    LLVMMemoryBufferRef buffer = NULL;
    char *message = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(cg->machine, cg->module, LLVMAssemblyFile, &message,
                                            &buffer)) {
        fail_with_message(cg, "NVPTX code generation failed", message);
        return NULL;
    }
    LLVMDisposeMessage(message);
    size_t size = LLVMGetBufferSize(buffer);
    char *ptx = arena_strndup(arena, LLVMGetBufferStart(buffer), size);
    LLVMDisposeMemoryBuffer(buffer);
    return ptx;
}

char *codegen_compile_ptx(CodegenContext *cg, Arena *arena)
{
    if (!codegen_verify(cg) || !codegen_optimize(cg, CODEGEN_O3) || !codegen_verify(cg))
        return NULL;
    return codegen_emit_ptx(cg, arena);
}
