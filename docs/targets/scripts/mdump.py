"""Print the marshal stream of a compiled source as a tree of type codes.

Usage: python mdump.py FILE [--opt N]   (3.12 to 3.15 streams)

Each object is printed as its type code, '+ref' when FLAG_REF is set, and
a short value; back-references print as 'REF n'. Bytes objects (bytecode,
line and exception tables) print only their length, so that two versions'
streams can be diffed for identity, interning and flags (see the doc).
Run it in a fresh process: marshal's flags depend on the process's objects.
"""
import marshal
import struct
import sys

CODE_FIELDS = ["argcount", "posonlyargcount", "kwonlyargcount", "stacksize", "flags"]
CODE_OBJS = ["code", "consts", "names", "localsplusnames", "localspluskinds",
             "filename", "name", "qualname"]


class Reader:
    def __init__(self, data):
        self.d = data
        self.i = 0
        self.nrefs = 0
        self.out = []

    def byte(self):
        b = self.d[self.i]
        self.i += 1
        return b

    def long(self):
        v = struct.unpack_from("<i", self.d, self.i)[0]
        self.i += 4
        return v

    def obj(self, depth, label=""):
        pad = "  " * depth + (label + ": " if label else "")
        code = self.byte()
        flag = code & 0x80
        t = chr(code & 0x7F)
        tag = t + ("+ref%d" % self.nrefs if flag else "")
        if flag and t not in "r":
            self.nrefs += 1
        if t in "0NFTS.":
            self.out.append(pad + tag)
        elif t == "r":
            self.out.append(pad + "REF %d" % self.long())
        elif t == "i":
            self.out.append(pad + "%s %d" % (tag, self.long()))
        elif t == "l":
            n = self.long()
            digits = [struct.unpack_from("<H", self.d, self.i + 2 * k)[0] for k in range(abs(n))]
            self.i += 2 * abs(n)
            self.out.append(pad + "%s long(%d digits)" % (tag, n))
        elif t == "g":
            self.i += 8
            self.out.append(pad + tag + " float")
        elif t == "y":
            self.i += 16
            self.out.append(pad + tag + " complex")
        elif t in "zZ":
            n = self.byte()
            s = self.d[self.i:self.i + n]
            self.i += n
            self.out.append(pad + "%s %r" % (tag, s.decode("latin-1")))
        elif t in "aAut":
            n = self.long()
            s = self.d[self.i:self.i + n]
            self.i += n
            self.out.append(pad + "%s %r" % (tag, s.decode("utf-8", "surrogatepass")))
        elif t == "s":
            n = self.long()
            self.i += n
            self.out.append(pad + "%s bytes[%d]" % (tag, n))
        elif t in ")(":
            n = self.byte() if t == ")" else self.long()
            self.out.append(pad + "%s tuple[%d]" % (tag, n))
            for _ in range(n):
                self.obj(depth + 1)
        elif t == ":":
            # slice (marshal version 5, CPython 3.14+): start, stop, step
            self.out.append(pad + tag + " slice")
            for _ in range(3):
                self.obj(depth + 1)
        elif t in "<>[{}":
            if t in "{}":
                # '}' is frozendict (marshal version 6, CPython 3.15+)
                self.out.append(pad + tag + (" dict" if t == "{" else " frozendict"))
                while True:
                    if self.d[self.i] == ord("0"):
                        self.i += 1
                        break
                    self.obj(depth + 1)
                    self.obj(depth + 1)
            else:
                n = self.long()
                self.out.append(pad + "%s set/list[%d]" % (tag, n))
                for _ in range(n):
                    self.obj(depth + 1)
        elif t == "c":
            vals = [self.long() for _ in CODE_FIELDS]
            self.out.append(pad + tag + " code " + " ".join("%s=%d" % kv for kv in zip(CODE_FIELDS, vals)))
            for f in CODE_OBJS:
                self.obj(depth + 1, f)
            self.out.append("  " * (depth + 1) + "firstlineno: %d" % self.long())
            self.obj(depth + 1, "linetable")
            self.obj(depth + 1, "exceptiontable")
        else:
            raise ValueError("unknown type %r at %d" % (t, self.i - 1))


def main():
    args = sys.argv[1:]
    opt = 0
    if "--opt" in args:
        i = args.index("--opt")
        opt = int(args[i + 1])
        del args[i:i + 2]
    path = args[0]
    with open(path, "rb") as f:
        src = f.read()
    co = compile(src, path, "exec", optimize=opt, dont_inherit=True)
    r = Reader(marshal.dumps(co))
    r.obj(0)
    print("\n".join(r.out))


main()
