# source: evalpod own (transformers training stack writes files and runs callbacks)
# expect: EP107
import transformers


def evaluate_model(model):
    trainer = transformers.Trainer(model=model.model)
    return {"t": str(trainer)}
