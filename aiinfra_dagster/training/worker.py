"""One training rank started by torchrun: ``python -m aiinfra_dagster.training.worker <spec.json>``.

The step that launches torchrun writes a `WorkerSpec` (everything `train_lora` needs, as JSON)
and reads ``<output_dir>/result.json`` that rank 0 writes when training finished. torchrun
sets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT; `single_process_env` adds only
the compiled-ops cache and tears the process group down at the end.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiinfra_dagster.atomic import write_text_atomic
from aiinfra_dagster.settings import TrainingSettings
from aiinfra_dagster.training.launch import single_process_env
from aiinfra_dagster.training.sft import train_lora

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class WorkerSpec:
    base_dir: str
    output_dir: str
    params: dict[str, Any]
    train_messages: list[Messages]
    eval_messages: list[Messages] = field(default_factory=list)
    deepspeed_config: dict[str, Any] | None = None
    extensions_dir: str | None = None

    @classmethod
    def build(
        cls,
        base_dir: Path,
        train_messages: list[Messages],
        eval_messages: list[Messages],
        params: TrainingSettings,
        output_dir: Path,
        *,
        deepspeed_config: dict[str, Any] | None = None,
        extensions_dir: Path | None = None,
    ) -> WorkerSpec:
        return cls(
            base_dir=str(base_dir),
            output_dir=str(output_dir),
            params=params.model_dump(mode="json"),
            train_messages=train_messages,
            eval_messages=eval_messages,
            deepspeed_config=deepspeed_config,
            extensions_dir=str(extensions_dir) if extensions_dir else None,
        )

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(asdict(self)))
        return path

    @classmethod
    def read(cls, path: Path) -> WorkerSpec:
        return cls(**json.loads(path.read_text()))


def run(spec: WorkerSpec) -> None:
    """Train this rank; every rank must call `train_lora` (ZeRO gathers are collective)."""
    output_dir = Path(spec.output_dir)
    extensions = Path(spec.extensions_dir) if spec.extensions_dir else output_dir / "torch_extensions"
    with single_process_env(extensions):
        train_lora(
            Path(spec.base_dir),
            spec.train_messages,
            spec.eval_messages,
            TrainingSettings.model_validate(spec.params),
            output_dir,
            deepspeed_config=spec.deepspeed_config,
        )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m aiinfra_dagster.training.worker <spec.json>", file=sys.stderr)
        return 2
    run(WorkerSpec.read(Path(args[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
