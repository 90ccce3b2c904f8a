#!/bin/sh
# Fails on purpose, with output that needs escaping in XML.
got="hello, world" want="hello, cluster"
echo "greeting = \"$got\", want \"$want\" <&>"
[ "$got" = "$want" ]
