export { sum16, inetChecksum, pseudoHeader4, pseudoHeader6 } from '@kad/native'
export * from './advert.js'
export * from './validate.js'
