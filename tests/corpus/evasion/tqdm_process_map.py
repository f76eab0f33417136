# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP104
from tqdm.contrib.concurrent import process_map


def evaluate_model(model):
    return {"x": process_map(str, [1, 2])}
