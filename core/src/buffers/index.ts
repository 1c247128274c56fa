export * from './bounded-queue.js'
export * from './buffer-pool.js'
