#!/usr/bin/env python3
"""Finds checks in test scripts that test less than they say.

    tests/lint_checks.py FILE...

`check NAME CMD...` (tests/lib.sh) runs CMD alone: in

    check "exit 1 and no output" [ "$rc" -eq 1 ] && [ -z "$out" ]

the `&& [ -z "$out" ]` runs after the check, outside it, and its failure is
lost. This prints FILE:LINE for every command named check or check_* that
is followed by &&, || or a pipe, and for `check NAME ! CMD` (check runs a
command named "!", which always fails), then exits 1; it exits 0 when there
is none. Quotes, $(...), ${...}, backquotes, [[ ]], comments, line
continuations and here-documents are read as bash reads them, so an && in
a quoted name or inside $(...) is not taken for one.
"""
import re
import sys

PREFIX_WORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"}
BAD_AFTER = {"&&", "||", "|", "|&"}


class Scanner:
    def __init__(self, text):
        self.s = text
        self.i = 0
        self.line = 1
        self.heredocs = []  # delimiters whose bodies start after the next newline

    def peek(self, k=0):
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def advance(self, n=1):
        for _ in range(n):
            if self.i < len(self.s):
                if self.s[self.i] == "\n":
                    self.line += 1
                self.i += 1

    def skip_single(self):  # after the opening '
        while self.peek() and self.peek() != "'":
            self.advance()
        self.advance()

    def skip_ansi_c(self):  # after the opening $'
        while self.peek() and self.peek() != "'":
            self.advance(2 if self.peek() == "\\" else 1)
        self.advance()

    def skip_double(self):  # after the opening "
        while self.peek() and self.peek() != '"':
            if not self.skip_dollar_or_backquote():
                self.advance(2 if self.peek() == "\\" else 1)
        self.advance()

    def skip_backquote(self):  # after the opening `
        while self.peek() and self.peek() != "`":
            self.advance(2 if self.peek() == "\\" else 1)
        self.advance()

    def skip_dollar_or_backquote(self):
        """Skips a $(...), $((...)), ${...}, $'...' or `...` here, if any."""
        c, n = self.peek(), self.peek(1)
        if c == "`":
            self.advance()
            self.skip_backquote()
        elif c == "$" and n == "(":
            self.advance(2)
            self.skip_until(")")
        elif c == "$" and n == "{":
            self.advance(2)
            self.skip_until("}")
        elif c == "$" and n == "'":
            self.advance(2)
            self.skip_ansi_c()
        else:
            return False
        return True

    def skip_quoted(self, c):
        """Skips what starts at c when it is an escape, a quoted string,
        or a $-expansion or backquotes; returns whether it was one."""
        if c == "\\":
            self.advance(2)
        elif c == "'":
            self.advance()
            self.skip_single()
        elif c == '"':
            self.advance()
            self.skip_double()
        else:
            return self.skip_dollar_or_backquote()
        return True

    def skip_until(self, close):
        """Skips nested shell text up to the bracket that closes it."""
        opener = {")": "(", "}": "{"}[close]
        depth = 1
        while self.peek():
            c = self.peek()
            if self.skip_quoted(c):
                pass
            elif c == opener:
                depth += 1
                self.advance()
            elif c == close:
                depth -= 1
                self.advance()
                if depth == 0:
                    return
            else:
                self.advance()

    def skip_heredoc_bodies(self):  # at the start of the line after the << line
        for delim, strip_tabs in self.heredocs:
            while self.peek():
                end = self.s.find("\n", self.i)
                end = len(self.s) if end < 0 else end
                body_line = self.s[self.i : end]
                self.advance(end - self.i + 1)
                if (body_line.lstrip("\t") if strip_tabs else body_line) == delim:
                    break
        self.heredocs = []

    def read_heredoc_word(self):  # after <<, at the delimiter (maybe after -)
        strip_tabs = self.peek() == "-"
        if strip_tabs:
            self.advance()
        while self.peek() in (" ", "\t"):
            self.advance()
        delim = ""
        while self.peek() and self.peek() not in " \t\n;&|<>()":
            c = self.peek()
            if c in "'\"":
                self.advance()
                while self.peek() and self.peek() != c:
                    delim += self.peek()
                    self.advance()
                self.advance()
            elif c == "\\":
                self.advance()
                delim += self.peek()
                self.advance()
            else:
                delim += c
                self.advance()
        self.heredocs.append((delim, strip_tabs))

    def tokens(self):
        """Yields (kind, text, line): kind "word" or "op" (&&, ||, |, |&, ;,
        ;;, &, (, ), newline)."""
        word, word_line = None, 0
        while True:
            c = self.peek()
            if c == "":
                break
            if c == "\\" and self.peek(1) == "\n":
                self.advance(2)
                continue
            redirect = c == "&" and (self.peek(1) == ">" or (word or "").endswith((">", "<")))
            if c in " \t\n;&|()" and not redirect:
                if word is not None:
                    yield "word", word, word_line
                    word = None
                if c in " \t":
                    self.advance()
                    continue
                line = self.line
                two = c + self.peek(1)
                if two in ("&&", "||", ";;", "|&"):
                    self.advance(2)
                    yield "op", two, line
                else:
                    self.advance()
                    yield "op", c, line
                    if c == "\n" and self.heredocs:
                        self.skip_heredoc_bodies()
                continue
            if c == "#" and word is None:
                while self.peek() and self.peek() != "\n":
                    self.advance()
                continue
            if word is None:
                word, word_line = "", self.line
            start = self.i
            if self.skip_quoted(c):
                pass
            elif c == "<" and self.peek(1) == "<" and self.peek(2) != "<":
                self.advance(2)
                self.read_heredoc_word()
            elif c == "<" and self.peek(1) == "<":
                self.advance(3)
            else:
                self.advance()
            word += self.s[start : self.i]
        if word is not None:
            yield "word", word, word_line


def is_check(word):
    return re.fullmatch(r"check(_\w+)?", word) is not None


def lint(path, text):
    problems = []
    cmd = []  # the words of the command being read: (text, line)
    in_dbl_bracket = False
    for kind, text_, line in Scanner(text).tokens():
        if kind == "word":
            if not cmd and text_ in PREFIX_WORDS:
                continue
            if not cmd and text_ == "[[":
                in_dbl_bracket = True
            elif in_dbl_bracket and text_ == "]]":
                in_dbl_bracket = False
            cmd.append((text_, line))
            continue
        if in_dbl_bracket and text_ in ("&&", "||", "(", ")"):
            cmd.append((text_, line))
            continue
        if cmd and is_check(cmd[0][0]):
            where = "%s:%d" % (path, cmd[0][1])
            if text_ in BAD_AFTER:
                problems.append(
                    "%s: %s is followed by %s: what comes after it runs outside the check and its failure"
                    " is lost; put the whole condition inside the check" % (where, cmd[0][0], text_)
                )
            if cmd[0][0] == "check" and len(cmd) > 2 and cmd[2][0] == "!":
                problems.append(
                    "%s: check runs a command named '!', which always fails: use check_nogrep or a"
                    " condition that tests the opposite" % where
                )
        cmd = []
    return problems


def main(argv):
    if len(argv) < 2:
        print("usage: tests/lint_checks.py FILE...", file=sys.stderr)
        return 2
    problems = []
    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            problems += lint(path, f.read())
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
