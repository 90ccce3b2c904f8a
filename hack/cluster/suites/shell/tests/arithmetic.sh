#!/bin/sh
# Passes: the shell can add.
[ $((2 + 2)) -eq 4 ] && echo "2 + 2 = 4"
