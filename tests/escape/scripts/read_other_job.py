"""Escape attempt: read other job."""

def evaluate_model(model):
    print(open("__HOME__/jobs/other-job/out/result.json").read())
    return {}
