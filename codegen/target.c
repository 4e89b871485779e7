/* target.c — the GPU targets tilec knows and the LLVM build it carries. */
#include <stdio.h>
#include <string.h>

#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include "codegen.h"

/* +ptx86: TMA's g2s .cta form needs PTX 8.6 and fp8 mma.sync m16n8k32 needs 8.4
   (NVPTX-NOTES.md); sm_80 stays on an older ISA so its PTX loads on older drivers.
   sm_89 (Ada) has the fp8 mma.sync datapath that sm_90 lacks: there fp8 dots are native
   m16n8k32 e4m3/e5m2 mmas. Shared memory per block: 227 KB (sm_90), 99 KB (sm_89),
   163 KB (sm_80), the CUDA programming guide's opt-in limits. */
static const Target targets[] = {
    {"sm_90a", 90, "+ptx86", 232448},
    {"sm_89", 89, "+ptx84", 101376},
    {"sm_80", 80, "+ptx78", 166912},
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
    return "sm_90a, sm_89, sm_80";
}

bool target_runs_on(const Target *target, int major, int minor)
{
    size_t n = strlen(target->name);
    int cc = major * 10 + minor;
    return target->name[n - 1] == 'a' ? cc == target->sm : cc >= target->sm;
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
