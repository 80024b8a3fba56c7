// Nothing: this package exists to build protoc plugins.
