"""Report every config field by walking the dataclass fields."""
# source: issue #11 false positive (getattr(cfg, field.name) over dataclass fields)
# expect: accept
import dataclasses


@dataclasses.dataclass
class Config:
    max_new_tokens: int = 4
    temperature: float = 0.0
    label: str = "greedy"


def evaluate_model(model):
    cfg = Config()
    settings = {field.name: getattr(cfg, field.name) for field in dataclasses.fields(cfg)}
    for field in dataclasses.fields(Config):
        if getattr(cfg, field.name) is None:
            raise ValueError(field.name)
    out = model.generate(["Hello"], max_new_tokens=cfg.max_new_tokens)
    return {"fields": len(settings), "generated": len(out)}
