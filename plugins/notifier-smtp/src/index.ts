export { default, PLUGIN_NAME, type SmtpPluginOptions } from './plugin.js'
export { formatMail, wantsMail } from './format.js'
export { smtpSection, type SmtpSection } from './config.js'
export { MailSender, transportOptions, defaultFrom } from './sender.js'
