// Package mapper holds the bundled engine mappers.
package mapper
