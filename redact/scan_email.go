package redact

import "bytes"

// scanEmail finds local@domain around each '@'. An '@' can arrive after
// its local part, so while streaming the trailing run of local-part bytes
// (at most maxLocal of them) is held back: it may yet become an address.
func (e *engine) scanEmail() {
	buf, off := e.buf, e.off
	n := len(buf)
	i := max(e.mailFrom-off, 0)
	for i < n {
		k := bytes.IndexByte(buf[i:], '@')
		if k < 0 {
			break
		}
		at := i + k
		if e.matchEmail(at) {
			e.mailFrom, e.mailHold = off+at, off+e.localStart(at)
			return
		}
		i = at + 1
	}
	e.mailFrom, e.mailHold = off+n, off+n
	if !e.final {
		e.mailHold = off + e.localStart(n)
	}
}

// localStart is where the local part ending at at begins: at most
// maxLocal bytes back.
func (e *engine) localStart(at int) int {
	j := at
	for j > 0 && at-j < maxLocal && e.r.byteKind[e.buf[j-1]]&bLocal != 0 {
		j--
	}
	return j
}

func (e *engine) matchEmail(at int) bool {
	buf, n := e.buf, len(e.buf)
	ls := e.localStart(at)
	for ls < at && buf[ls] == '.' {
		ls++
	}
	if ls == at {
		return false
	}
	p := at + 1
	for p < n && p-at-1 <= maxDomain && e.r.byteKind[buf[p]]&bDomain != 0 {
		p++
	}
	if p-at-1 > maxDomain {
		return false
	}
	if p == n && !e.final {
		return true
	}
	de := p
	for de > at+1 && (buf[de-1] == '.' || buf[de-1] == '-') {
		de--
	}
	if domainOK(buf[at+1 : de]) {
		e.addDet(ls, de, kindEmail)
	}
	return false
}

// domainOK: two or more labels of letters, digits and inner hyphens, the
// last one letters only and at least two long.
func domainOK(d []byte) bool {
	labels, start := 0, 0
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i] != '.' {
			continue
		}
		l := d[start:i]
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		labels++
		start = i + 1
	}
	tld := d[bytes.LastIndexByte(d, '.')+1:]
	if labels < 2 || len(tld) < 2 {
		return false
	}
	for _, b := range tld {
		if !isLetter(b) {
			return false
		}
	}
	return true
}

// commonWord lists single words that are likely enumeration values (a
// risk level, a status, a plan tier, a yes/no). They are not matched: the
// word is everywhere in ordinary text, and a marker in its place would
// tell the provider the value ("a [hidden:account.paymentRisk] priority").
// Such fields are kept from the provider by not attaching them.
func commonWord(w string) bool {
	switch w {
	case "high", "low", "medium", "med", "none", "yes", "no", "true", "false", "null", "unknown",
		"active", "inactive", "trial", "paid", "free", "pro", "basic", "premium", "enterprise",
		"growth", "starter", "business", "standard", "team", "plus", "open", "closed", "pending",
		"good", "bad", "ok", "okay", "red", "green", "yellow", "amber", "blue", "gold", "silver",
		"bronze", "platinum", "new", "old", "hot", "warm", "cold", "churned", "lost", "won",
		"risk", "safe", "healthy", "critical", "normal", "elevated", "moderate", "severe", "minor",
		"major", "urgent", "monthly", "annual", "yearly", "weekly", "daily", "admin", "owner",
		"member", "user", "guest", "customer", "lead", "prospect", "partner", "vip", "default",
		"enabled", "disabled", "on", "off", "positive", "negative", "neutral", "the", "and":
		return true
	}
	return false
}
