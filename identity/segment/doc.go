// Package segment owns ingestion in the Segment spec: the HTTP Tracking API
// at /ingest/v1/identify|group|track|batch (so Segment and RudderStack SDKs
// can point their endpoint at crisp unchanged) and file import (JSONL of
// Segment messages, and CSV rows turned into the same messages), which
// `crisp import` and the first-start seed both use.
//
// A message becomes store rows like this: identify upserts a customer
// (traits email and name fill its columns, every other trait merges last
// write wins by the message's timestamp); group upserts an account (traits
// name, plan and subscription fill its columns) and, with a userId, puts the
// customer in it, with context.traits.role as the customer's role there;
// track (and page and screen, as "Viewed NAME Page|Screen") appends an event
// whose id is the messageId, so a replayed message is stored once.
//
// Every batch is validated whole before anything is written: one bad
// message refuses the batch, naming it, and nothing of it is stored.
//
// This package must never decide visibility or policy (it stores what
// sources send, hidden fields included, for policy to govern later), never
// log a write key or a trait or property value, and never write part of a
// batch.
package segment
