package contextpack

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"hash/maphash"
	"io/fs"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// cl100kFile is the vocabulary's name in the tiktoken-go-loader assets.
const cl100kFile = "cl100k_base.tiktoken"

// cl100kSplit is cl100k_base's pre-tokenization pattern, copied from
// tiktoken-go v0.1.8 (encoding.go). It needs regexp2, not regexp, for the
// (?!\S) lookahead.
const cl100kSplit = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// tokenizer counts cl100k_base tokens without tiktoken-go, to save memory.
// Crisp only needs how many tokens a line takes, never the ids, yet
// tiktoken-go keeps about 12 MB live for its encoder and decoder maps and
// sorted copies of every token (and allocates twice that building them).
// vocab holds the same ~100k tokens in about 2 MB: one byte blob, offsets by
// rank and an open-addressing index from bytes to rank.
//
// A tokenizer is immutable, so safe for concurrent use.
type tokenizer struct {
	split *regexp2.Regexp
	vocab *vocab
}

// newTokenizer loads the vocabulary file name from fsys, a tiktoken file
// ("<base64 token> <rank>" per line, ranks 0, 1, 2… in order).
func newTokenizer(fsys fs.FS, name string) (*tokenizer, error) {
	split, err := regexp2.Compile(cl100kSplit, regexp2.None)
	if err != nil {
		return nil, err
	}
	v, err := loadVocab(fsys, name)
	if err != nil {
		return nil, err
	}
	return &tokenizer{split: split, vocab: v}, nil
}

// count returns the number of tokens in s, as tiktoken's Encode(s, nil, nil)
// would produce: special tokens such as <|endoftext|> are ordinary text.
// Like tiktoken-go it works on runes, so an invalid UTF-8 byte counts as
// U+FFFD.
func (t *tokenizer) count(s string) int {
	runes := []rune(s)
	var scratch [64]byte
	piece := scratch[:0]
	n := 0
	// Errors only report a match timeout, and none is set.
	m, _ := t.split.FindRunesMatch(runes)
	for m != nil {
		piece = appendRunes(piece[:0], runes[m.Index:m.Index+m.Length])
		n += t.vocab.countPiece(piece)
		m, _ = t.split.FindNextMatch(m)
	}
	return n
}

func appendRunes(b []byte, rs []rune) []byte {
	for _, r := range rs {
		b = utf8.AppendRune(b, r)
	}
	return b
}

// vocab maps token bytes to ranks. Token r is blob[off[r]:off[r+1]];
// slots is an open-addressing hash table (linear probing, a power of two
// long) holding rank+1, 0 marking an empty slot.
type vocab struct {
	blob  []byte
	off   []uint32
	slots []uint32
	seed  maphash.Seed
}

// rank returns the rank of the token b, if b is one.
func (v *vocab) rank(b []byte) (int, bool) {
	mask := uint64(len(v.slots) - 1)
	for i := maphash.Bytes(v.seed, b) & mask; ; i = (i + 1) & mask {
		s := v.slots[i]
		if s == 0 {
			return 0, false
		}
		if r := int(s - 1); bytes.Equal(v.token(r), b) {
			return r, true
		}
	}
}

func (v *vocab) token(r int) []byte { return v.blob[v.off[r]:v.off[r+1]] }

// countPiece returns the number of tokens one pre-tokenized piece encodes to.
func (v *vocab) countPiece(p []byte) int {
	if len(p) == 1 {
		return 1 // every byte is a token
	}
	if _, ok := v.rank(p); ok {
		return 1
	}
	return v.merge(p)
}

// noRank marks a pair of parts that is not a token.
const noRank = math.MaxInt

// part is a piece's part during the merge: where it starts, and the rank of
// it joined with the next part.
type part struct{ start, rank int }

// merge runs the byte-pair merge on p and returns how many parts are left:
// starting from single bytes, it joins the adjacent pair whose
// concatenation has the lowest rank (the leftmost on a tie) until no
// adjacent pair is a token. This is tiktoken's bytePairMerge, counting.
func (v *vocab) merge(p []byte) int {
	var stack [64]part
	parts := stack[:0]
	for i := range len(p) + 1 {
		parts = append(parts, part{start: i, rank: noRank})
	}
	for i := range len(parts) - 2 {
		parts[i].rank = v.pairRank(p, parts, i)
	}
	for {
		i := lowest(parts)
		if i < 0 {
			return len(parts) - 1
		}
		parts = append(parts[:i+1], parts[i+2:]...)
		parts[i].rank = v.pairRank(p, parts, i)
		if i > 0 {
			parts[i-1].rank = v.pairRank(p, parts, i-1)
		}
	}
}

// pairRank is the rank of parts i and i+1 of p joined, or noRank.
func (v *vocab) pairRank(p []byte, parts []part, i int) int {
	if i+2 >= len(parts) {
		return noRank
	}
	if r, ok := v.rank(p[parts[i].start:parts[i+2].start]); ok {
		return r
	}
	return noRank
}

// lowest returns the index of the leftmost part with the lowest rank, or -1
// if no part can join its neighbour.
func lowest(parts []part) int {
	best, at := noRank, -1
	for i, pt := range parts {
		if pt.rank < best {
			best, at = pt.rank, i
		}
	}
	return at
}

// loadVocab reads a tiktoken file in two streaming passes: the first sizes
// the blob and the table exactly, the second fills them. Nothing but the
// result outlives the call, and nothing bigger than a line is allocated
// besides it.
func loadVocab(fsys fs.FS, name string) (*vocab, error) {
	var n, size int
	err := eachToken(fsys, name, func(tok []byte) error {
		n++
		size += len(tok)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n == 0 || uint64(size) > math.MaxUint32 {
		return nil, fmt.Errorf("%s: %d tokens in %d bytes", name, n, size)
	}
	v := &vocab{
		blob:  make([]byte, 0, size),
		off:   make([]uint32, 1, n+1),
		slots: make([]uint32, tableSize(n)),
		seed:  maphash.MakeSeed(),
	}
	err = eachToken(fsys, name, func(tok []byte) error {
		if len(v.off) > n {
			return fmt.Errorf("%s changed while loading", name)
		}
		v.blob = append(v.blob, tok...)
		v.off = append(v.off, uint32(len(v.blob)))
		return v.insert(len(v.off) - 2)
	})
	if err != nil {
		return nil, err
	}
	if len(v.off) != n+1 {
		return nil, fmt.Errorf("%s changed while loading", name)
	}
	return v, nil
}

// tableSize is a power of two about 2.5 times n, keeping probes short.
func tableSize(n int) int {
	size := 1
	for size < n*5/2 {
		size <<= 1
	}
	return size
}

// insert indexes token r, which must not be there yet.
func (v *vocab) insert(r int) error {
	tok := v.token(r)
	mask := uint64(len(v.slots) - 1)
	for i := maphash.Bytes(v.seed, tok) & mask; ; i = (i + 1) & mask {
		s := v.slots[i]
		if s == 0 {
			v.slots[i] = uint32(r + 1)
			return nil
		}
		if bytes.Equal(v.token(int(s-1)), tok) {
			return fmt.Errorf("token %q has ranks %d and %d", tok, s-1, r)
		}
	}
}

// eachToken calls fn with each token of a tiktoken file, decoded, in rank
// order; it fails unless line k carries rank k. tok is only valid during
// the call.
func eachToken(fsys fs.FS, name string, fn func(tok []byte) error) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	var buf []byte
	sc := bufio.NewScanner(f)
	for rank, line := 0, 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		b64, num, ok := bytes.Cut(sc.Bytes(), []byte{' '})
		got, err := strconv.Atoi(string(num))
		if !ok || err != nil || got != rank {
			return fmt.Errorf("%s:%d: want %q and rank %d", name, line, "<base64> <rank>", rank)
		}
		if buf, err = base64.StdEncoding.AppendDecode(buf[:0], b64); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if err := fn(buf); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		rank++
	}
	return sc.Err()
}
