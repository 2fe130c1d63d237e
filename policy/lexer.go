package policy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pos is a place in a rules file. Line and Col count from 1; Col counts
// characters, not bytes, so it matches what an editor shows.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	if p.File == "" {
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

type tokenKind int

const (
	tokEOF  tokenKind = iota
	tokWord           // allow, user.role, ai.agent.*, privateRevenue: words and dotted paths
	tokString
	tokNumber
	tokLBracket
	tokRBracket
	tokLParen
	tokRParen
	tokComma
	tokColon
	tokOp    // == != < <= > >=
	tokError // text is what the lexer found wrong; the parser reports it
)

var tokenNames = [...]string{
	tokEOF:      "end of file",
	tokWord:     "word",
	tokString:   "string",
	tokNumber:   "number",
	tokLBracket: `"["`,
	tokRBracket: `"]"`,
	tokLParen:   `"("`,
	tokRParen:   `")"`,
	tokComma:    `","`,
	tokColon:    `":"`,
	tokOp:       "operator",
	tokError:    "error",
}

type token struct {
	kind tokenKind
	text string // the source text; for strings, the decoded value
	pos  Pos
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of file"
	case tokString:
		return fmt.Sprintf("string %q", t.text)
	default:
		return fmt.Sprintf("%q", t.text)
	}
}

// maxTokens bounds the work a single file can cause; rules files are small
// and a pathological input must fail fast rather than grow without bound.
const maxTokens = 50_000

// lex splits a rules file into tokens. Comments run from '#' or "//" to the
// end of the line. Newlines carry no meaning: statements begin with a keyword.
// A malformed token becomes a tokError and lexing goes on, so the parser
// reports problems in file order and can recover at the next statement.
func lex(file, src string) ([]token, error) {
	l := lexer{file: file, src: src, line: 1, col: 1}
	var toks []token
	for {
		t, err := l.next()
		if err != nil {
			e := err.(*Error)
			t = token{kind: tokError, text: e.Msg, pos: e.Pos}
		}
		toks = append(toks, t)
		if t.kind == tokEOF {
			return toks, nil
		}
		if len(toks) > maxTokens {
			return nil, &Error{Pos: t.pos, Msg: fmt.Sprintf("file too large: more than %d tokens", maxTokens)}
		}
	}
}

type lexer struct {
	file string
	src  string
	off  int
	line int
	col  int
}

func (l *lexer) pos() Pos { return Pos{File: l.file, Line: l.line, Col: l.col} }

func (l *lexer) peek() rune {
	if l.off >= len(l.src) {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	return r
}

func (l *lexer) advance() rune {
	r, n := utf8.DecodeRuneInString(l.src[l.off:])
	l.off += n
	if r == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col++
	}
	return r
}

func (l *lexer) skipSpaceAndComments() {
	for l.off < len(l.src) {
		r := l.peek()
		switch {
		case r == '#' || strings.HasPrefix(l.src[l.off:], "//"):
			for l.off < len(l.src) && l.peek() != '\n' {
				l.advance()
			}
		case unicode.IsSpace(r) || r == '\uFEFF':
			l.advance()
		default:
			return
		}
	}
}

func isWordStart(r rune) bool { return r == '_' || r == '*' || unicode.IsLetter(r) }

// isWordPart admits '-' so MCP tool names (ai.agent.lookup-customer) and rule
// names (support-draft) are single words; the language has no minus operator.
func isWordPart(r rune) bool {
	return r == '_' || r == '-' || r == '.' || r == '*' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func (l *lexer) next() (token, error) {
	l.skipSpaceAndComments()
	start := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	from := l.off
	r := l.peek()
	switch {
	case isWordStart(r):
		for l.off < len(l.src) && isWordPart(l.peek()) {
			l.advance()
		}
		return token{kind: tokWord, text: l.src[from:l.off], pos: start}, nil
	case unicode.IsDigit(r) || (r == '-' && l.off+1 < len(l.src) && isDigit(l.src[l.off+1])):
		return l.number(start)
	case r == '"':
		return l.string(start)
	}
	l.advance()
	if k, ok := punctuation(r); ok {
		return token{kind: k, text: string(r), pos: start}, nil
	}
	switch r {
	case '=', '!', '<', '>':
		if l.peek() == '=' {
			l.advance()
			return token{kind: tokOp, text: l.src[from:l.off], pos: start}, nil
		}
		if r == '<' || r == '>' {
			return token{kind: tokOp, text: string(r), pos: start}, nil
		}
		if r == '=' {
			return token{}, &Error{Pos: start, Msg: `unexpected "="; use "==" to compare`}
		}
		return token{}, &Error{Pos: start, Msg: `unexpected "!"; use "not" or "!="`}
	case '\'':
		return token{}, &Error{Pos: start, Msg: `strings use double quotes`}
	}
	return token{}, &Error{Pos: start, Msg: fmt.Sprintf("unexpected character %q", r)}
}

func punctuation(r rune) (tokenKind, bool) {
	switch r {
	case '[':
		return tokLBracket, true
	case ']':
		return tokRBracket, true
	case '(':
		return tokLParen, true
	case ')':
		return tokRParen, true
	case ',':
		return tokComma, true
	case ':':
		return tokColon, true
	}
	return 0, false
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func (l *lexer) number(start Pos) (token, error) {
	from := l.off
	if l.peek() == '-' {
		l.advance()
	}
	seenDot := false
	for l.off < len(l.src) {
		r := l.peek()
		if r == '.' && !seenDot && l.off+1 < len(l.src) && isDigit(l.src[l.off+1]) {
			seenDot = true
		} else if r < '0' || r > '9' {
			break
		}
		l.advance()
	}
	if l.off < len(l.src) && isWordPart(l.peek()) && l.peek() != '.' {
		return token{}, &Error{Pos: start, Msg: fmt.Sprintf("malformed number %q", l.src[from:l.off]+string(l.peek()))}
	}
	return token{kind: tokNumber, text: l.src[from:l.off], pos: start}, nil
}

func (l *lexer) string(start Pos) (token, error) {
	l.advance() // opening quote
	var b strings.Builder
	var bad *Error // the first bad escape; the string is still read to its end
	for {
		if l.off >= len(l.src) || l.peek() == '\n' {
			return token{}, &Error{Pos: start, Msg: "unterminated string"}
		}
		r := l.advance()
		switch r {
		case '"':
			if bad != nil {
				return token{}, bad
			}
			return token{kind: tokString, text: b.String(), pos: start}, nil
		case '\\':
			if l.off >= len(l.src) {
				return token{}, &Error{Pos: start, Msg: "unterminated string"}
			}
			escPos := l.pos()
			switch e := l.peek(); e {
			case '"', '\\':
				b.WriteRune(l.advance())
			case 'n':
				l.advance()
				b.WriteByte('\n')
			case 't':
				l.advance()
				b.WriteByte('\t')
			default:
				if bad == nil {
					bad = &Error{Pos: escPos, Msg: fmt.Sprintf(`unknown escape "\%c" (use \", \\, \n or \t)`, e)}
				}
			}
		default:
			b.WriteRune(r)
		}
	}
}
