#!/bin/sh
sum=$((2 + 2))
echo "checking 2 + 2 = $sum"
[ "$sum" -eq 4 ]
echo "ok: all unit tests passed"
