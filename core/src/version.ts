/** The plugin API version of this host; plugins declare a semver range against it in meta.host. */
export const HOST_API_VERSION = '1.0.0'
export const KAD_VERSION = '0.1.0'
/** The keepalived release kad mirrors (flags, keywords, -t exit codes, wire behaviour). */
export const KEEPALIVED_COMPAT = '2.2.7'
