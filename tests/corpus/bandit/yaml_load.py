# source: PyCQA/bandit examples/yaml_load.py (B506)
# expect: EP101
import yaml


def evaluate_model(model):
    return {"x": yaml.load("a: 1")}
