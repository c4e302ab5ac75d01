"""Writes a Python module of many small functions, SIZE megabytes long.

The shape generated code often has (one module-level constant per function,
default tuples folded at module level), used to measure how compile time
grows with file size:

    python3 bench/many_functions.py 5 > /tmp/big/m5.py
    /usr/bin/time -v pycache compile --engine native -f /tmp/big/m5.py
"""
import sys


def main():
    target = float(sys.argv[1]) * 1_000_000
    out = sys.stdout
    written = 0
    i = 0
    while written < target:
        chunk = (
            f"def f{i}(a, b={i}, c='s{i}', d=(1, {i})):\n"
            f"    x = a + b * {i}\n"
            f"    if x > {i}:\n"
            f"        return (x, c, d, {i}.5)\n"
            f"    return [a, b, 'k{i}']\n\n"
        )
        out.write(chunk)
        written += len(chunk)
        i += 1


if __name__ == "__main__":
    main()
