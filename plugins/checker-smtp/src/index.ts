import { definePlugin, HOST_API_VERSION } from '@kad/core'

export const PLUGIN_NAME = 'checker-smtp'

/** Placeholder: the plugin is being written (see its README). */
export default definePlugin({
  meta: { name: PLUGIN_NAME, version: '0.1.0', host: '^' + HOST_API_VERSION, roles: ['check'] },
  register() {},
})
