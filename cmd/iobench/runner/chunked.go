package runner

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// chunkReader reads a replayed iolog as the job goes (read_iolog_chunked):
// parseReplayLog reads it up to its first I/O; the rest is read by a
// goroutine of its own, started with the job's first I/O past those,
// a line at a time, and handed over through a channel that holds at most
// chunkAhead I/Os, so the log may be longer than memory, or still being
// written (a FIFO another process feeds while the job runs).
type chunkReader struct {
	p    *logParser
	f    *os.File
	r    *bufio.Reader
	once sync.Once
	next chan chunkItem
	quit chan struct{}
	shut sync.Once
}

// chunkItem is one I/O of the log, or the error that ends it.
type chunkItem struct {
	e   replayEntry
	err error
}

// chunkAhead is how many I/Os the reader reads ahead of the job.
const chunkAhead = 256

// startChunked opens the log and reads its header and lines up to its
// first I/O (the files it adds before it are the job's).
func startChunked(p *logParser) (*replayLog, error) {
	f, err := os.Open(p.path)
	if err != nil {
		return nil, fmt.Errorf("read_iolog: %w", err)
	}
	c := &chunkReader{p: p, f: f, r: bufio.NewReader(f)}
	head, _ := c.r.Peek(4)
	line, err := c.readLine()
	if err == nil || errors.Is(err, io.EOF) && line != "" {
		err = p.parseHeader(line, head)
	}
	for err == nil && len(p.l.entries) == 0 {
		if line, err = c.readLine(); err != nil && (!errors.Is(err, io.EOF) || line == "") {
			break
		}
		var e replayEntry
		var ok bool
		if e, ok, err = p.parseLine(line); ok {
			p.l.entries = append(p.l.entries, e)
		}
	}
	if len(p.l.entries) == 0 {
		f.Close()
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("read_iolog: %s holds no read or write to replay", p.path)
		}
		return nil, err
	}
	p.fixedFiles = true
	p.l.chunked = c
	return p.l, nil
}

// readLine returns the log's next line without its newline; io.EOF
// with the last line when it has none.
func (c *chunkReader) readLine() (string, error) {
	s, err := c.r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read_iolog: %s: %w", c.p.path, err)
	}
	if n := len(s); n > 0 && s[n-1] == '\n' {
		s = s[:n-1]
	}
	return s, err
}

// read runs in the reader's goroutine: every I/O of the rest of the log,
// then the channel closed (after an error item, if one ended it).
func (c *chunkReader) read() {
	defer close(c.next)
	defer c.f.Close()
	for {
		line, err := c.readLine()
		if err != nil && (!errors.Is(err, io.EOF) || line == "") {
			if !errors.Is(err, io.EOF) {
				c.send(chunkItem{err: err})
			}
			return
		}
		e, ok, perr := c.p.parseLine(line)
		if perr != nil {
			c.send(chunkItem{err: perr})
			return
		}
		if ok && !c.send(chunkItem{e: e}) {
			return
		}
		if err != nil {
			return // the last line, without a newline
		}
	}
}

// send hands it to the job; false when the job has ended.
func (c *chunkReader) send(it chunkItem) bool {
	select {
	case c.next <- it:
		return true
	case <-c.quit:
		return false
	}
}

// take returns the log's next I/O, waiting for the log to have one; ok
// false at its end, or with stop true once stop says the job ends.
func (c *chunkReader) take(stop func() bool) (e replayEntry, ok bool, err error) {
	c.once.Do(func() {
		c.next, c.quit = make(chan chunkItem, chunkAhead), make(chan struct{})
		go c.read()
	})
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case it, open := <-c.next:
			if !open {
				return e, false, nil
			}
			return it.e, it.err == nil, it.err
		case <-tick.C:
			if stop() {
				return e, false, nil
			}
		}
	}
}

// close ends the reader (the job has ended) and lets its goroutine go.
func (c *chunkReader) close() {
	c.once.Do(func() { c.f.Close() }) // never started
	c.shut.Do(func() {
		if c.quit != nil {
			close(c.quit)
		}
	})
}
