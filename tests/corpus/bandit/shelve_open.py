# source: bandit blacklist ideas: shelve unpickles on read
# expect: EP102
import shelve


def evaluate_model(model):
    with shelve.open("db") as db:
        return {"x": db.get("k")}
