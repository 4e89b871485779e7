/* target.c — the GPU targets tilec knows and the LLVM build it carries. */
#include <stdio.h>
#include <string.h>

#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include "codegen.h"

/* +ptx86: TMA's g2s .cta form needs PTX 8.6 and fp8 mma.sync m16n8k32 needs 8.4
   (NVPTX-NOTES.md); sm_80 stays on an older ISA so its PTX loads on older drivers. */
static const Target targets[] = {
    {"sm_90a", 90, "+ptx86"},
    {"sm_80", 80, "+ptx78"},
};

const Target *target_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        if (strcmp(targets[i].name, name) == 0)
            return &targets[i];
    return NULL;
}

const char *target_names(void)
{
    return "sm_90a, sm_80";
}

void codegen_llvm_version(char *buf, size_t size)
{
    unsigned major = 0, minor = 0, patch = 0;
    LLVMGetVersion(&major, &minor, &patch);
    snprintf(buf, size, "%u.%u.%u", major, minor, patch);
}

bool codegen_has_nvptx(void)
{
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMTargetRef target = NULL;
    char *error = NULL;
    bool ok = LLVMGetTargetFromTriple("nvptx64-nvidia-cuda", &target, &error) == 0;
    LLVMDisposeMessage(error);
    return ok;
}
