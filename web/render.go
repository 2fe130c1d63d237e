package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// pages are the parsed templates: one set per page, each the layout plus
// the page's own file.
type pages struct {
	sets map[string]*template.Template
}

// page is what every template gets.
type page struct {
	Title     string
	Nav       string // the active section: inbox, catalog, policies, usage, keys
	V         *viewer
	Version   string // static files' fingerprint
	Workspace string
	Data      any
}

// navOf names the section a page belongs to.
var navOf = map[string]string{
	"inbox": "inbox", "catalog": "catalog", "entry": "catalog", "editor": "catalog", "confirm": "catalog",
	"history": "catalog", "policies": "policies", "policyedit": "policies", "usage": "usage", "record": "usage",
	"keys": "keys",
}

func loadPages(version string) (*pages, error) {
	base := template.New("base").Funcs(funcs(version))
	if _, err := base.ParseFS(assets, "templates/layout.html", "templates/parts.html"); err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{sets: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		t, err := base.Clone()
		if err == nil {
			_, err = t.ParseFS(assets, n)
		}
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

// render writes a whole page. It renders into a buffer first so a template
// error becomes a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, v *viewer, status int, name, title string, data any) {
	s.execute(w, v, status, name, "layout", title, data)
}

// renderPart writes one named template of a page's set (an htmx fragment).
func (s *Server) renderPart(w http.ResponseWriter, v *viewer, name, part string, data any) {
	s.execute(w, v, http.StatusOK, name, part, "", data)
}

func (s *Server) execute(w http.ResponseWriter, v *viewer, status int, name, tmpl, title string, data any) {
	set, ok := s.pages.sets[name]
	if !ok {
		http.Error(w, "unknown page "+name, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	p := page{Title: title, Nav: navOf[name], V: v, Version: s.version, Workspace: s.opts.WorkspaceName, Data: data}
	if err := set.ExecuteTemplate(&buf, tmpl, p); err != nil {
		s.opts.Log.Error().Err(err).Str("page", name).Msg("web: template failed")
		http.Error(w, "crisp could not render this page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"encoding failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func funcs(version string) template.FuncMap {
	return template.FuncMap{
		"static": func(name string) string { return "/static/" + name + "?v=" + version },
		"ago":    ago,
		"clock":  func(t time.Time) string { return t.UTC().Format("15:04") },
		"when":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"day":    func(t time.Time) string { return t.UTC().Format("Jan 2") },
		"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"join":   strings.Join,
		"upper":  strings.ToUpper,
		"lower":  strings.ToLower,
		"title":  capitalize,
		"short": func(s string, n int) string {
			r := []rune(s)
			if len(r) <= n {
				return s
			}
			return string(r[:n-1]) + "…"
		},
		"hash": func(s string) string {
			s = strings.TrimPrefix(s, "sha256:")
			return s[:min(len(s), 12)]
		},
		"pathesc":  url.PathEscape,
		"ms":       func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) },
		"plural":   plural,
		"initial":  initial,
		"entryURL": entryURL,
		"add":      func(a, b int) int { return a + b },
		"ints":     func(n ...int) []int { return n },
		"lineAnchor": func(loc string) string {
			// policies/acme.rules:12 → #acme.rules-L12
			file, line, ok := strings.Cut(path.Base(loc), ":")
			if !ok {
				return "#" + file
			}
			return "#" + file + "-L" + line
		},
	}
}

func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	case d < 7*24*time.Hour:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
	return t.UTC().Format("Jan 2")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func initial(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "?"
	}
	return strings.ToUpper(string([]rune(s)[:1]))
}

// entryURL links a catalog field (customer.x, account.x) or event.
func entryURL(name string) string {
	if strings.HasPrefix(name, "customer.") || strings.HasPrefix(name, "account.") {
		return "/ui/catalog/fields/" + url.PathEscape(name)
	}
	return "/ui/catalog/events/" + url.PathEscape(name)
}
