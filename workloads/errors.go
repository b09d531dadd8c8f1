package workloads

import "errors"

// ErrUnknownOption is returned for an option that is neither fio's nor
// iobench's.
var ErrUnknownOption = errors.New("unknown option")

// ErrRefused is returned for a fio option (or a value of one) that
// iobench does not implement: running the job anyway would measure
// something other than what the job file asks for.
var ErrRefused = errors.New("not supported by iobench")

// ErrBadValue is returned for an option value that does not parse or is
// out of range.
var ErrBadValue = errors.New("bad value")

// ErrSyntax is returned for a line that is not a section, an option or a
// comment.
var ErrSyntax = errors.New("syntax error")
