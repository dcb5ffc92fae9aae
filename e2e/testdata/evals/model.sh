#!/bin/sh
# A deterministic stand-in for a model: it answers the question whose id is in the prompt ("[c07]") with the line
# of kb.tsv for that id, the knowledge a change to the app edits. promptfoo's exec: provider gives the rendered
# prompt as the first argument.
id=$(printf '%s\n' "$1" | sed -n 's/.*\[\(c[0-9][0-9]*\)\].*/\1/p' | head -n 1)
answer=$(awk -F '\t' -v id="$id" '$1 == id { print $2; exit }' kb.tsv)
echo "${answer:-I do not know.}"
