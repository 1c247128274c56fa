/** The keepalived.conf language: lexer, preprocessor, keyword tree, readers, parser and the core's keywords. */
export type * from './types.js'
export * from './codes.js'
export { decomment, tokenize, lexText, type Decommented, type Token, type TokenizeResult, type LexedLine } from './lexer.js'
export { preprocess, expandBraces, globSegmentToRegExp, setPlainLineFastPath, type PreprocessResult } from './preprocess.js'
export { KeywordTree, CORE_PLUGIN, type KeywordNode, type ChildEntry } from './keyword-tree.js'
export {
  LineContext,
  readUnsigned,
  readInteger,
  readTimerUs,
  readBool,
  readAddress,
  readPrefix,
  readOneOf,
  parseIPv4,
  parseIPv6,
  formatIPv6,
  type ReadResult,
  type ParseSink,
} from './readers.js'
export { parseConfig, parseConfigText, configExitCode, formatConfigDiagnostic, finalizeDiagnostics } from './parser.js'
export { hostConfigId } from './config-id.js'
export { parseLoc } from './loc.js'
export * from './core-keywords.js'
