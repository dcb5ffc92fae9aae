#!/usr/bin/env python3
"""A deterministic stand-in for a model, for the golden set and the app: it answers the question of the prompt
("Question [c07]: ...") with the fact of the prompt that has the same id ("[c07] 30 days."), and says it does
not know when the prompt has none. The prompt is the first argument (promptfoo's exec: provider) or stdin."""
import re
import sys


def answer(prompt: str) -> str:
    q = re.search(r"Question \[(c\d+)\]", prompt)
    if q:
        for line in prompt.splitlines():
            fact = re.match(r"\s*\[" + q.group(1) + r"\]\s+(.*)", line)
            if fact:
                return fact.group(1)
    return "I do not know."


if __name__ == "__main__":
    print(answer(sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read()))
