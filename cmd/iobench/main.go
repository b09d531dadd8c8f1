// Command iobench benchmarks block devices through the engine, runs fio
// job files, and compares itself with fio. See runner for the details and
// 'iobench --help' for the options.
package main

import (
	"os"

	"github.com/iobench/iobench/cmd/iobench/runner"
)

func main() {
	os.Exit(runner.Main(os.Args[1:], os.Stdout, os.Stderr))
}
