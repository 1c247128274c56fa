/**
 * Every diagnostic code the config language reports (docs/config.md mirrors this table).
 * Plugins may use their own KAD_CFG_<PLUGIN>_* codes; these are the core's.
 */
export const CONFIG_CODES = {
  KAD_CFG_FILE_MISSING: 'the main configuration file does not exist or cannot be read (fatal, exit 4)',
  KAD_CFG_INCLUDE_MISSING: 'an include names a file or directory that does not exist',
  KAD_CFG_INCLUDE_NO_MATCH: 'an include wildcard matched no file',
  KAD_CFG_INCLUDE_UNREADABLE: 'an included path is a directory, executable, not a regular file, or cannot be read',
  KAD_CFG_INCLUDE_RECURSION: 'a file includes itself, directly or through other files',
  KAD_CFG_INCLUDE_SYNTAX: 'an include line has no file name, or include_check has an unknown word',
  KAD_CFG_UNTERMINATED_QUOTE: 'a quoted string has no closing quote on its line',
  KAD_CFG_CONDITIONAL: 'a conditional line (@ID / @^ID) is malformed',
  KAD_CFG_DEFINITION: 'a $NAME=value definition or $NAME substitution is malformed or recursive',
  KAD_CFG_SEQ: 'a ~SEQ / ~SEQx / ~LST specification is malformed',
  KAD_CFG_EXPANSION_LIMIT: '~SEQ / ~LST / multiline definitions would generate more lines than allowed',
  KAD_CFG_UNKNOWN_KEYWORD: 'a keyword is not known at this place (a warning, as keepalived; --strict makes it an error)',
  KAD_CFG_MISSING_BRACE: "a block keyword is not followed by '{'",
  KAD_CFG_UNEXPECTED_BRACE: "a '{' that does not open a block; the block is skipped",
  KAD_CFG_EXTRA_BRACE: "a '}' that closes nothing",
  KAD_CFG_UNCLOSED_BLOCK: "a block has no closing '}' at the end of the configuration",
  KAD_CFG_NOT_A_BLOCK: 'a keyword that takes no block is followed by one; the block is skipped',
  KAD_CFG_MISSING_PARAMETER: 'a keyword is missing a required parameter (keepalived exits 2 here; kad reports and goes on)',
  KAD_CFG_INVALID_NUMBER: 'a number or timer is malformed, negative where it must not be, or out of range',
  KAD_CFG_INVALID_BOOL: 'a boolean is not one of on|off|true|false|yes|no',
  KAD_CFG_INVALID_ADDRESS: 'an IPv4/IPv6 address is malformed or of the wrong family',
  KAD_CFG_INVALID_PREFIX: 'an address prefix length is malformed or out of range',
  KAD_CFG_INVALID_VALUE: 'a word is not one of the values the keyword accepts',
  KAD_CFG_DEPRECATED: 'a deprecated keyword or form is used',
  KAD_CFG_SCHEMA: "a plugin's parsed section does not satisfy its JSON schema",
  KAD_CFG_HANDLER: 'a keyword handler threw (a bug in the plugin); the line is skipped',
  KAD_CFG_ERROR: 'an error reported by a keyword handler',
  KAD_CFG_WARNING: 'a warning reported by a keyword handler',
  KAD_CFG_FATAL: 'a fatal problem reported by a keyword handler (kad cannot run this configuration)',
} as const

export type ConfigCode = keyof typeof CONFIG_CODES
