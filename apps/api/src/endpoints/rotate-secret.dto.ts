import { SecretField } from './endpoint-fields';

export class RotateSecretDto {
  @SecretField('Your own new signing secret: "whsec_" + base64 of 24-64 bytes. Generated when absent.')
  secret?: string;
}
