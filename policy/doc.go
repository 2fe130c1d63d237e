// Package policy owns Crisp's rule language: it parses *.rules files, checks
// them against the field catalog, compiles them once (conditions run on
// cel-go), and decides, for one Input, whether an AI action is allowed, what
// every catalog field resolves to (shown, masked, hidden), and why.
//
// It must never perform I/O while deciding, never let a decision depend on
// anything outside its Input, and never put a customer's or account's value
// into a message: explanations print literals compared with customer or
// account fields as "…".
//
// # Language
//
//	# a comment (also // …); newlines carry no meaning
//	rule support-draft                 # optional name (a word or "a string")
//	allow ai.draft
//	when user.role in ["support", "success"]
//	and account.privateRevenue == hidden
//	and signedIdentity == true
//
//	deny ai.agent.*, ai.ask when not signedIdentity because "unsigned identity"
//	hide account.privateRevenue, account.paymentRisk for ai
//	mask customer.email for ai.draft when user.role != "success"
//
// Statements:
//
//	allow ACTION[, ACTION…] [when EXPR] [because "…"]
//	deny  ACTION[, ACTION…] [when EXPR] [because "…"]
//	show|mask|hide FIELD[, FIELD…] [for TARGET[, TARGET…]] [when EXPR]
//
// An ACTION is ai.draft, ai.general, ai.ask, ai.context or ai.agent.<tool>,
// or a family: ai.agent.* (every tool), ai.* or *. A TARGET is an action,
// a family or a use (support, ai, reporting, automation); an action's use is
// the part before its first dot (ai for every ai.* action), and an action of
// no known use sees every field hidden. An unnamed rule is named FILE:LINE.
//
// EXPR: or, and, not (loosest first), parentheses, == != < <= > >=,
// `x in [list]`, `x not in [list]`, `a contains b` (substring, or list
// membership), string ("…", escapes \" \\ \n \t), number, true, false and
// list literals, and these names:
//
//	user.id user.email user.role user.kind user.teams   the member asking
//	customer.id customer.<field>                        the customer (catalog fields)
//	account.id account.<field>                          their account (catalog fields)
//	action request.model request.provider
//	signedIdentity identity.method
//	customer.did("visited pricing")                     the journey holds the event
//	customer.did("visited pricing", within: "7d")       … within 7 days (s m h d w)
//
// Event names are the catalog's, matched ignoring case.
// A catalog field compared with shown, masked or hidden (== or !=) tests the
// visibility the field resolves to for this action, not its value. A missing
// trait is null: it equals nothing, is in nothing, and makes an ordering
// comparison fail to evaluate. Unknown names, fields, events and actions are
// errors at load, with file:line:col and a suggestion.
//
// # Semantics
//
// Default deny. A deny rule that matches beats every allow rule. Otherwise
// the first allow rule (in file order, files in name order) whose clauses
// all hold allows. Evaluation fails closed: a deny whose condition cannot
// be evaluated applies, an allow's does not.
//
// Field visibility starts from the catalog's default for the action's use;
// field statements naming the action override it. Among the statements for a
// field and action:
//
//  1. the most specific wins: an exact action, then a longer family
//     (ai.agent.*), then a shorter one (ai.*), then a use (ai), then * or a
//     statement with no `for`;
//  2. among equally specific ones the most restrictive wins: hide, then mask,
//     then show;
//  3. a statement with `when` takes part only when its condition holds (a
//     hide or mask whose condition cannot be evaluated takes part; such a
//     show does not). Field statement conditions cannot test visibility.
//
// Rules see the visibility after field statements, so a policy that shows
// account.privateRevenue makes `account.privateRevenue == hidden` false.
//
// # Use
//
// Compile, Load or LoadFS build an Engine; Engine.Decide answers. With
// WithCache(NewCache(n)) decisions are cached, keyed by exactly the values
// the action's rules read (never those that read the journey, which depend
// on the clock). Watcher reloads a directory and swaps engines atomically,
// keeping the old one when an edit is broken; RunTests runs the
// *_test.yaml files beside the rules, as `opa test` does.
package policy
