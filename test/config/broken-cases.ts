/** The corpus of broken configurations (test/cases/config/broken/) and what kad and keepalived 2.2.7 say about each. */
export interface Case {
  file: string
  /** 'CODE@file:line' for every problem, in order */
  expect: string[]
  exit: number
  keepalived: number
  opts?: { allConfig?: boolean }
}

export const CASES: Case[] = [
  { file: 'unterminated-block.conf', expect: ['KAD_CFG_UNCLOSED_BLOCK@unterminated-block.conf:4'], exit: 5, keepalived: 5 },
  { file: 'unknown-keyword.conf', expect: ['KAD_CFG_UNKNOWN_KEYWORD@unknown-keyword.conf:4'], exit: 5, keepalived: 5 },
  { file: 'bad-number.conf', expect: ['KAD_CFG_INVALID_NUMBER@bad-number.conf:3', 'KAD_CFG_INVALID_NUMBER@bad-number.conf:4'], exit: 5, keepalived: 5 },
  { file: 'missing-include.conf', expect: ['KAD_CFG_INCLUDE_MISSING@missing-include.conf:2'], exit: 0, keepalived: 0 },
  { file: 'missing-include.conf', expect: ['KAD_CFG_INCLUDE_MISSING@missing-include.conf:2'], exit: 6, keepalived: 6, opts: { allConfig: true } },
  { file: 'missing-includea.conf', expect: ['KAD_CFG_INCLUDE_MISSING@missing-includea.conf:2'], exit: 6, keepalived: 6 },
  { file: 'bad-address.conf', expect: ['KAD_CFG_INVALID_ADDRESS@bad-address.conf:4', 'KAD_CFG_INVALID_PREFIX@bad-address.conf:5'], exit: 5, keepalived: 5 },
  { file: 'conditional-misuse.conf', expect: ['KAD_CFG_CONDITIONAL@conditional-misuse.conf:1', 'KAD_CFG_CONDITIONAL@conditional-misuse.conf:2'], exit: 5, keepalived: 0 },
  { file: 'definition-misuse.conf', expect: ['KAD_CFG_DEFINITION@definition-misuse.conf:1', 'KAD_CFG_DEFINITION@definition-misuse.conf:5'], exit: 5, keepalived: 5 },
  { file: 'include-recursion.conf', expect: ['KAD_CFG_INCLUDE_RECURSION@include-recursion-b.inc:2'], exit: 5, keepalived: 0 },
  { file: 'unterminated-quote.conf', expect: ['KAD_CFG_UNTERMINATED_QUOTE@unterminated-quote.conf:2'], exit: 5, keepalived: 5 },
  { file: 'seq-error.conf', expect: ['KAD_CFG_SEQ@seq-error.conf:4'], exit: 5, keepalived: 5 },
  { file: 'missing-brace.conf', expect: ['KAD_CFG_MISSING_BRACE@missing-brace.conf:1'], exit: 5, keepalived: 5 },
  { file: 'extra-brace.conf', expect: ['KAD_CFG_EXTRA_BRACE@extra-brace.conf:4'], exit: 5, keepalived: 5 },
  { file: 'missing-parameter.conf', expect: ['KAD_CFG_MISSING_PARAMETER@missing-parameter.conf:2'], exit: 5, keepalived: 2 },
  { file: 'error-in-include.conf', expect: ['KAD_CFG_INVALID_NUMBER@error-in-include-b.inc:3'], exit: 5, keepalived: 5 },
  {
    file: 'several-problems.conf',
    expect: [
      'KAD_CFG_UNKNOWN_KEYWORD@several-problems.conf:2',
      'KAD_CFG_INVALID_NUMBER@several-problems.conf:5',
      'KAD_CFG_MISSING_PARAMETER@several-problems.conf:6',
      'KAD_CFG_INVALID_ADDRESS@several-problems.conf:8',
      'KAD_CFG_EXTRA_BRACE@several-problems.conf:11',
    ],
    exit: 5,
    keepalived: 2,
  },
  { file: 'no-such-file.conf', expect: ['KAD_CFG_FILE_MISSING@-'], exit: 4, keepalived: 0 },
]

