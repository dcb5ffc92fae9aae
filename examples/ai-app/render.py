#!/usr/bin/env python3
"""Writes the prompt template a release serves: a variant (the default unless named) of the support-prompt flag
of .ferry/flags.yaml, the file ferry serves it from. Usage: render.py [VARIANT] > prompt.txt"""
import sys

import yaml

flag = yaml.safe_load(open(".ferry/flags.yaml"))["flags"]["support-prompt"]
variant = sys.argv[1] if len(sys.argv) > 1 else flag["default"]
sys.stdout.write(flag["variants"][variant])
