# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
import string
import textwrap

TEMPLATE = string.Template(textwrap.dedent("""\
    Passage: $passage
    Question: $question
    Answer:"""))

FEWSHOT = textwrap.dedent("""
    Passage: The Nile flows north.
    Question: Which way does the Nile flow?
    Answer: north
""").strip()


def build(passage, question):
    body = TEMPLATE.substitute(passage=passage, question=question)
    return f"{FEWSHOT}\n\n{body}"


def evaluate_model(model):
    prompt = build("Mount Everest is in Nepal.", "Where is Mount Everest?")
    safe = TEMPLATE.safe_substitute(passage="x")
    out = model.generate([prompt], max_new_tokens=4)[0]
    wrapped = textwrap.shorten(out or "(empty)", width=40, placeholder="...")
    return {"correct": float("nepal" in out.lower()), "wrapped": wrapped,
            "unfilled": "$question" in safe, "lines": len(prompt.splitlines())}
