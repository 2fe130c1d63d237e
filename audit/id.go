package audit

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"time"
)

// crockford is Crockford's base32 alphabet, which sorts like the numbers
// it encodes.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newID returns "aud_" and a ULID: 48 bits of unix milliseconds and 80
// random bits in Crockford base32, so ids sort by time to the millisecond
// and never collide in practice.
func newID(prefix string, t time.Time) string {
	var raw [16]byte
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		raw[i] = byte(ms)
		ms >>= 8
	}
	// The random bits only keep ids apart; they guard no secret. The
	// runtime's per-thread ChaCha8 (OS-seeded) gives them without the
	// system call or lock of crypto/rand.
	binary.BigEndian.PutUint16(raw[6:], uint16(rand.Uint32()))
	binary.BigEndian.PutUint64(raw[8:], rand.Uint64())
	out := make([]byte, len(prefix)+26)
	copy(out, prefix)
	// 128 bits as 26 base32 digits: the first digit takes the top 3 bits.
	var hi, lo uint64
	for i := range 8 {
		hi = hi<<8 | uint64(raw[i])
		lo = lo<<8 | uint64(raw[8+i])
	}
	d := out[len(prefix):]
	for i := 25; i >= 0; i-- {
		d[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}

// idTime returns the millisecond an id of newID's names: the first ten
// digits of its ULID are the 48-bit unix time. ok is false for any other id.
func idTime(id string) (t time.Time, ok bool) {
	i := strings.IndexByte(id, '_')
	d := id[i+1:]
	if len(d) != 26 {
		return time.Time{}, false
	}
	var ms uint64
	for k := range 10 {
		v := strings.IndexByte(crockford, d[k])
		if v < 0 || (k == 0 && v > 7) {
			return time.Time{}, false
		}
		ms = ms<<5 | uint64(v)
	}
	return time.UnixMilli(int64(ms)).UTC(), true
}
