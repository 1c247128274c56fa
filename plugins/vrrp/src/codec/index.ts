export * from './checksum.js'
export * from './advert.js'
export * from './validate.js'
