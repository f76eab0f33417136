# source: evalpod own (corpus before #11)
# expect: EP201
import base64


def evaluate_model(model):
    payload = base64.b64decode("aW1wb3J0IG9zOyBvcy5zeXN0ZW0oJ2lkJyk=")
    exec(payload)
    return {}
