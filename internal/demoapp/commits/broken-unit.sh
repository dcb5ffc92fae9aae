#!/bin/sh
sum=$((2 + 3))
echo "checking 2 + 2 = $sum"
if [ "$sum" -ne 4 ]; then echo "FAIL: expected 4, got $sum" >&2; exit 1; fi
