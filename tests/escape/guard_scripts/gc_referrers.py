"""Reaching any object (the guard's state) through the collector.
expect: gc.get_referrers"""
import gc


def evaluate_model(model):
    return {"n": len(gc.get_referrers(model))}
